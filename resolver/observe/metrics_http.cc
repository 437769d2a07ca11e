// SPDX-License-Identifier: MIT
#include "resolver/observe/metrics_http.h"

#include <microhttpd.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "policy/explain.h"
#include "resolver/observe/explain_report.h"
#include "resolver/observe/metrics_exposition.h"

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

// Counts the query arguments called `key`.
unsigned count_args(MHD_Connection* c, const char* key) {
  struct Ctx {
    const char* key;
    unsigned n = 0;
  } ctx{key};
  MHD_get_connection_values(
      c, MHD_GET_ARGUMENT_KIND,
      [](void* cls, MHD_ValueKind, const char* k, const char*) -> HandlerResult {
        auto* x = static_cast<Ctx*>(cls);
        if (std::strcmp(k, x->key) == 0) ++x->n;
        return MHD_YES;
      },
      &ctx);
  return ctx.n;
}

// One JSON document and a line end. Names and list texts come from files and requests:
// bytes that are not UTF-8 are replaced, never a reason to fail the reply.
std::string json_body(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

// The public JSON answer, or an error message in `error` (400). Exactly one name and at
// most one client, both valid: a proxy that pastes a Host header into the URL must not let
// a subscriber smuggle in a second `client=` and read another client's verdict.
std::string explain_body(const ServerState& s, MHD_Connection* c, std::string& error) {
  const char* name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
  const char* client = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "client");
  if (!name || !*name || count_args(c, "name") != 1 || count_args(c, "client") > 1) {
    error = "exactly one name (and at most one client) is required: /explain?name=HOST";
    return {};
  }
  sockaddr_storage addr{};
  if (client && *client && !policy::parse_client_address(client, addr)) {
    error = "client is not an IPv4 or IPv6 address";
    return {};
  }
  const auto snap = s.holder->current();
  const auto e = policy::explain(*snap, name,
                                 client && *client ? reinterpret_cast<sockaddr*>(&addr) : nullptr);
  if (e.outcome == policy::Explanation::Outcome::kInvalidName) {
    error = "name is not a valid domain name";
    return {};
  }
  return json_body(explain_json(e, Audience::kPublic));
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
    std::string error;
    const std::string body = explain_body(s, c, error);
    if (body.empty()) return reply(c, 400, json_body({{"error", error}}), "application/json");
    return reply(c, 200, body, "application/json");
  }
  if (path == "/healthz") return reply(c, 200, "ok\n", "text/plain");
  return reply(c, 404, "not found: /metrics, /explain?name=HOST, /healthz\n", "text/plain");
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
