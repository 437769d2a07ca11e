// SPDX-License-Identifier: MIT
// Worker: one thread, one libuv loop, its own SO_REUSEPORT UDP and TCP sockets on every
// listen address, its own upstream sockets, buffers and counters. Workers share nothing
// mutable; the control thread talks to a worker only through uv_async (stop).
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "resolver/config/config.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/net/tcp_listener.h"
#include "resolver/net/udp_listener.h"
#include "resolver/server/query_handler.h"
#include "resolver/upstream/upstream_pool.h"

namespace sinkhole::server {

struct ListenFds {
  std::vector<int> udp;
  std::vector<int> tcp;
};

class Worker {
 public:
  Worker(const config::Config& cfg, unsigned index, ListenFds fds,
         const policy::SnapshotHolder& policies, cache::PacketCache* cache);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Thread body: serves until stopped and drained, then returns.
  void run();
  // Any thread: stop accepting, answer what is in flight, then return from run().
  void request_stop();
  const metrics::WorkerCounters& counters() const { return counters_; }

 private:
  static void on_stop(uv_async_t* a);
  static void on_drain_tick(uv_timer_t* t);
  void begin_drain();
  bool drained() const;
  void close_all();

  const config::Config& cfg_;
  unsigned index_;
  uv_loop_t loop_{};
  uv_async_t stop_async_{};
  uv_timer_t drain_timer_{};
  uint64_t drain_started_ms_ = 0;
  bool forced_ = false;
  metrics::WorkerCounters counters_;
  QueryHandler handler_;
  std::unique_ptr<upstream::UpstreamPool> pool_;
  std::vector<std::unique_ptr<net::UdpListener>> udp_;
  std::vector<std::unique_ptr<net::TcpListener>> tcp_;
};

}  // namespace sinkhole::server
