// SPDX-License-Identifier: MIT
// Worker: one thread, one libuv loop, its own SO_REUSEPORT UDP and TCP sockets on every
// listen address, its own upstream sockets, buffers and counters. Workers share nothing
// mutable; the control thread talks to a worker only through uv_async (stop) and reads
// its heartbeat (an atomic counter) for the systemd watchdog.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "resolver/config/config.h"
#include "resolver/dnstap/dnstap_writer.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/net/tcp_listener.h"
#include "resolver/net/udp_listener.h"
#include "resolver/pipeline/net_reply_sink.h"
#include "resolver/pipeline/query_pipeline.h"
#include "resolver/upstream/clock.h"
#include "resolver/upstream/socket_transport.h"
#include "resolver/upstream/upstream_pool.h"

namespace sinkhole::pipeline {

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
  // Before run(): log this worker's client queries and answers to dnstap (its own queue,
  // its own counters). The writer must outlive run() and be destroyed before this worker.
  void attach_dnstap(dnstap::DnstapWriter& writer) {
    sink_.set_dnstap(&writer.attach(index_, counters_));
    pipeline_.set_log_queries(true);
  }
  // Before run(): how many workers share the response rate limit (rate_limiter.h).
  void set_worker_count(unsigned workers) { pipeline_.set_worker_count(workers); }
  // Before run(): where blocked queries are logged (log.blocked_queries).
  void set_blocked_log(spdlog::logger* log) { pipeline_.set_blocked_log(log); }
  // Per-upstream attempts and latency of this worker (any thread may read).
  const metrics::UpstreamStats& upstream_stats() const { return pool_->stats(); }
  // Before run(): bump heartbeat() every `period` from a timer on this worker's loop, so
  // the control thread can tell a loop that turns from one that hangs (watchdog.h, and
  // /healthz through observe/health_monitor.h). Off until called.
  void enable_heartbeat(std::chrono::milliseconds period);
  // Any thread: moves while the loop runs; stops when the loop is stuck (or drained).
  uint64_t heartbeat() const { return heartbeat_.load(std::memory_order_relaxed); }

 private:
  static void on_stop(uv_async_t* a);
  static void on_drain_tick(uv_timer_t* t);
  static void on_heartbeat(uv_timer_t* t);
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
  uv_timer_t heartbeat_timer_{};
  uint64_t heartbeat_ms_ = 0;  // 0 = off
  std::atomic<uint64_t> heartbeat_{0};
  metrics::WorkerCounters counters_;
  upstream::LoopClock clock_;
  NetReplySink sink_;
  QueryPipeline pipeline_;
  upstream::SocketTransport transport_;
  std::unique_ptr<upstream::UpstreamPool> pool_;
  std::vector<std::unique_ptr<net::UdpListener>> udp_;
  net::TcpConnectionTable tcp_connections_;  // every listener's clients, one set of limits
  std::vector<std::unique_ptr<net::TcpListener>> tcp_;
};

}  // namespace sinkhole::pipeline
