// SPDX-License-Identifier: MIT
// Worker: one thread, one libuv loop, its own SO_REUSEPORT UDP and TCP sockets on every
// listen address, its own upstream sockets, buffers and counters. Workers share nothing
// mutable; the control thread talks to a worker only through uv_async (stop), the
// published LiveSettings (checked once per loop turn, live_settings.h) and reads its
// heartbeat (an atomic counter) for the systemd watchdog.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "resolver/config/config.h"
#include "resolver/dnstap/dnstap_writer.h"
#include "resolver/metrics/upstream_stats.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/net/tcp_listener.h"
#include "resolver/net/udp_listener.h"
#include "resolver/pipeline/live_settings.h"
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
  // `settings` holds the settings in force (published before the worker is made); its
  // restart-required keys never change (config::keep_restart_settings).
  Worker(const LiveSettingsHolder& settings, unsigned index, ListenFds fds,
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
  // Before run(): where an accepted NOTIFY goes (QueryPipeline::set_notify_sink).
  void set_notify_sink(QueryPipeline::NotifySink sink) {
    pipeline_.set_notify_sink(std::move(sink));
  }
  // Per-upstream attempts and latency of this worker, by UpstreamSlots row (any thread
  // may read).
  const metrics::UpstreamStats& upstream_stats() const { return upstream_stats_; }
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
  // Each loop turn: new settings published? Retired upstream pools done?
  static void on_turn(uv_prepare_t* p);
  // Applies the published settings if they moved (one atomic load otherwise).
  void refresh_settings() noexcept {
    if (settings_.generation() != live_->generation) apply_settings();
  }
  void apply_settings() noexcept;
  void make_pool(const LiveSettings& s);
  void close_retired_pools();
  void begin_drain();
  bool drained() const;
  void close_all();

  // Between the listeners and the pipeline: the settings a reload published apply before
  // the next query or accepted connection, even the first one that wakes an idle loop (the
  // poll phase runs before the next turn's check).
  class Gate final : public net::QuerySink, public net::ClientFilter {
   public:
    explicit Gate(Worker& w) : w_(w) {}
    void on_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from) override {
      w_.refresh_settings();
      w_.pipeline_.on_query(msg, len, from);
    }
    bool admits(const sockaddr* client) const noexcept override {
      w_.refresh_settings();
      return w_.pipeline_.client_filter().admits(client);
    }
    bool trusts_proxy(const sockaddr* peer) const noexcept override {
      w_.refresh_settings();
      return w_.pipeline_.client_filter().trusts_proxy(peer);
    }

   private:
    Worker& w_;
  };

  const LiveSettingsHolder& settings_;
  std::shared_ptr<const LiveSettings> live_;  // what this worker applied last
  unsigned index_;
  uv_loop_t loop_{};
  uv_prepare_t turn_{};
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
  metrics::UpstreamStats upstream_stats_;
  // The pool new questions go to, and those a reload replaced that still have questions
  // in flight (closed when the last one is done, freed once their handles are closed).
  std::unique_ptr<upstream::SocketTransport> transport_;
  std::unique_ptr<upstream::UpstreamPool> pool_;
  struct RetiredPool {
    std::unique_ptr<upstream::SocketTransport> transport;
    std::unique_ptr<upstream::UpstreamPool> pool;
  };
  std::vector<RetiredPool> retired_pools_;
  Gate gate_{*this};
  std::vector<std::unique_ptr<net::UdpListener>> udp_;
  net::TcpConnectionTable tcp_connections_;  // every listener's clients, one set of limits
  std::vector<std::unique_ptr<net::TcpListener>> tcp_;
};

}  // namespace sinkhole::pipeline
