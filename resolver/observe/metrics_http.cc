// SPDX-License-Identifier: MIT
#include "resolver/observe/metrics_http.h"

#include <microhttpd.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/observe/explain_request.h"
#include "resolver/observe/health_check.h"
#include "resolver/observe/health_monitor.h"
#include "resolver/observe/metrics_exposition.h"
#include "resolver/observe/sketch_export.h"

namespace sinkhole::observe {

namespace {

#if MHD_VERSION >= 0x00097002
using HandlerResult = MHD_Result;
#else
using HandlerResult = int;
#endif

HandlerResult reply(MHD_Connection* c, unsigned status, const std::string& body,
                    const char* content_type) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                    MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type", content_type);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  const HandlerResult ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

// The query arguments as libmicrohttpd decoded them, in order; they live as long as `c`.
std::vector<QueryArg> query_args(MHD_Connection* c) {
  std::vector<QueryArg> args;
  MHD_get_connection_values(
      c, MHD_GET_ARGUMENT_KIND,
      [](void* cls, MHD_ValueKind, const char* k, const char* v) -> HandlerResult {
        static_cast<std::vector<QueryArg>*>(cls)->push_back({k, v ? v : ""});
        return MHD_YES;
      },
      &args);
  return args;
}

HandlerResult on_request(void* cls, MHD_Connection* c, const char* url, const char* method,
                         const char*, const char*, size_t*, void**) {
  const auto& s = *static_cast<const ServerState*>(cls);
  const std::string_view m(method);
  if (m != "GET" && m != "HEAD") return reply(c, 405, "only GET\n", "text/plain");
  const std::string_view path(url);
  if (path == "/metrics")
    return reply(c, 200, render_metrics(s), "text/plain; version=0.0.4; charset=utf-8");
  if (path == "/explain") {
    const auto snap = s.holder->current();
    const auto answer = answer_explain(*snap, query_args(c));
    return reply(c, answer.status, answer.body, "application/json");
  }
  if (path == "/healthz") {
    // No monitor (tests that serve HTTP without a Server): nothing to say against health.
    HealthInput in = s.health ? s.health->health_input() : HealthInput{};
    if (!s.health) in.generation = s.holder->generation();
    const HealthVerdict v = evaluate_health(in);
    return reply(c, v.healthy ? 200 : 503, health_json(in, v).dump() + "\n", "application/json");
  }
  if (path == "/protected-users/sketches")
    return reply(c, 200, render_sketches(s), "application/json");
  return reply(c, 404,
               "not found: /metrics, /explain?name=HOST, /healthz, /protected-users/sketches\n",
               "text/plain");
}

}  // namespace

bool MetricsHttp::start(int listen_fd, const config::MetricsConfig& cfg, const ServerState& state,
                        std::string* error) {
  state_ = &state;
  const auto timeout_s = static_cast<unsigned>(std::max<long long>(cfg.timeout.count() / 1000, 1));
  // MHD_USE_AUTO picks epoll here: the default select() breaks on descriptors past 1024,
  // which a busy server (its fd limit raised) hands out.
  daemon_ = MHD_start_daemon(
      MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, nullptr, nullptr, &on_request,
      const_cast<ServerState*>(state_), MHD_OPTION_LISTEN_SOCKET, listen_fd,
      MHD_OPTION_CONNECTION_LIMIT, cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      cfg.max_connections_per_client, MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_END);
  if (!daemon_) {
    ::close(listen_fd);
    if (error) *error = "libmicrohttpd could not start";
    return false;
  }
  return true;
}

void MetricsHttp::stop() {
  if (daemon_) MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

}  // namespace sinkhole::observe
