// SPDX-License-Identifier: MIT
// MetricsHttp: the read-only HTTP listener (metrics.listen), served by libmicrohttpd on a
// thread of its own — a well-kept HTTP implementation rather than a parser of ours, and
// never on a worker:
//   GET /metrics                       Prometheus text exposition (metrics_exposition.h)
//   GET /explain?name=HOST[&client=IP] why HOST is blocked for that client, as JSON
//                                      (explain_report.h, without file paths); the
//                                      warning page asks it
//   GET /healthz                       200 {"status":"ok",...} or 503 {"status":"unhealthy",
//                                      "reasons":[...]} (health_check.h: lists, stuck
//                                      workers, a failed last reload, no upstream up)
//   GET /protected-users/sketches      this node's protected-user sketches as JSON, for
//                                      sinkholectl fleet-report (sketch_export.h)
// Anything else is 404; methods other than GET/HEAD are 405. Bind it to a private
// address: it tells whoever asks which names are listed.
// start() and stop() on the control thread; requests are answered on libmicrohttpd's own
// thread (one, polling with epoll: file descriptors above FD_SETSIZE are fine), which
// reads ServerState only (atomics and locks workers never take).
// Bounded (metrics.*): connections in total and per source address, and a connection
// that sends nothing for `timeout` is closed — so half-open connections from elsewhere
// cannot lock the scraper out: they hit the per-address limit, and any that fill the total
// are gone after the timeout.
#pragma once

#include <string>

#include "resolver/config/config.h"
#include "resolver/observe/server_state.h"

struct MHD_Daemon;

namespace sinkhole::observe {

class MetricsHttp {
 public:
  MetricsHttp() = default;
  ~MetricsHttp() { stop(); }
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Serves on `listen_fd` (bound and listening: bind_metrics_listener in listeners.h);
  // false with `error` set when libmicrohttpd cannot start. Takes the fd either way.
  bool start(int listen_fd, const config::MetricsConfig& cfg, const ServerState& state,
             std::string* error);
  // Stops the thread and closes the socket; safe to call twice.
  void stop();

 private:
  MHD_Daemon* daemon_ = nullptr;
  const ServerState* state_ = nullptr;
};

}  // namespace sinkhole::observe
