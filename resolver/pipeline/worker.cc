// SPDX-License-Identifier: MIT
#include "resolver/pipeline/worker.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "resolver/upstream/upstream_slots.h"

namespace sinkhole::pipeline {

namespace {
constexpr uint64_t kDrainTickMs = 20;
// After the upstream deadline plus this grace, whatever is still waiting gets SERVFAIL.
constexpr uint64_t kDrainGraceMs = 500;

net::TcpLimits tcp_limits(const config::ServerConfig& s) {
  net::TcpLimits l;
  l.idle_timeout = s.tcp_idle_timeout;
  l.query_timeout = s.tcp_query_timeout;
  l.write_timeout = s.tcp_write_timeout;
  l.max_queued_bytes = s.tcp_max_queued_bytes;
  l.max_query_size = s.tcp_max_query_size;
  l.max_connections = s.tcp_max_connections;
  l.max_connections_per_client = s.tcp_max_connections_per_client;
  return l;
}
}  // namespace

Worker::Worker(const LiveSettingsHolder& settings, unsigned index, ListenFds fds,
               const policy::SnapshotHolder& policies, cache::PacketCache* cache)
    : settings_(settings),
      live_(settings.current()),
      index_(index),
      clock_(&loop_),
      pipeline_(*live_->config, counters_, policies, cache, sink_, clock_),
      upstream_stats_(upstream::UpstreamSlots::kMax),
      tcp_connections_(tcp_limits(live_->config->server), counters_) {
  uv_loop_init(&loop_);
  uv_prepare_init(&loop_, &turn_);
  turn_.data = this;
  uv_async_init(&loop_, &stop_async_, on_stop);
  stop_async_.data = this;
  uv_timer_init(&loop_, &drain_timer_);
  drain_timer_.data = this;
  uv_timer_init(&loop_, &heartbeat_timer_);
  heartbeat_timer_.data = this;

  make_pool(*live_);
  pipeline_.set_blocked_log(live_->blocked_log.get());
  pipeline_.set_worker_index(index);

  for (int fd : fds.udp)
    udp_.push_back(std::make_unique<net::UdpListener>(&loop_, fd, gate_, counters_));
  for (int fd : fds.tcp) {
    tcp_.push_back(std::make_unique<net::TcpListener>(&loop_, fd, gate_, tcp_connections_));
    tcp_.back()->set_client_filter(&gate_);
  }
}

Worker::~Worker() = default;

void Worker::make_pool(const LiveSettings& s) {
  const config::UpstreamConfig& u = s.config->upstream;
  transport_ = std::make_unique<upstream::SocketTransport>(
      &loop_, counters_, upstream::SocketTransport::Options{u.socket_reuse});
  upstream::UpstreamPool::Options po;
  po.servers = u.servers;
  po.timeout = u.timeout;
  po.deadline = u.deadline;
  po.payload = s.config->server.udp_payload;
  po.max_inflight_per_upstream = u.max_inflight_per_upstream;
  po.stats = &upstream_stats_;
  po.stat_slots = s.upstream_rows;
  pool_ = std::make_unique<upstream::UpstreamPool>(po, *transport_, clock_, counters_, pipeline_);
  pool_->set_debug_log(&pipeline_.debug_log());
  pipeline_.set_upstreams(pool_.get());
}

void Worker::on_turn(uv_prepare_t* p) {
  auto* self = static_cast<Worker*>(p->data);
  self->refresh_settings();
  if (!self->retired_pools_.empty()) self->close_retired_pools();
}

// Between two queries, once per reload. Allocates (admit tables, a new pool): out of
// memory keeps the settings applied so far and tries again on the next query.
void Worker::apply_settings() noexcept {
  try {
    std::shared_ptr<const LiveSettings> next = settings_.current();
    if (!next || next->generation == live_->generation) return;
    pipeline_.apply_settings(*next->config);
    pipeline_.set_blocked_log(next->blocked_log.get());
    if (!same_upstreams(*live_, *next)) {
      retired_pools_.push_back({std::move(transport_), std::move(pool_)});
      make_pool(*next);
    }
    live_ = std::move(next);  // the old object is released by the control thread
  } catch (const std::exception& e) {
    spdlog::error("worker {}: applying the reloaded settings failed: {}", index_, e.what());
  }
}

void Worker::close_retired_pools() {
  for (auto it = retired_pools_.begin(); it != retired_pools_.end();) {
    if (it->pool->active() == 0) it->transport->close();
    if (it->transport->closed_fully())
      it = retired_pools_.erase(it);
    else
      ++it;
  }
}

void Worker::enable_heartbeat(std::chrono::milliseconds period) {
  heartbeat_ms_ = static_cast<uint64_t>(std::max<int64_t>(period.count(), 1));
}

void Worker::run() {
  // A name per thread: `top -H` and the watchdog's "worker 1 made no progress" line
  // point at the same thread (15 characters at most).
  pthread_setname_np(pthread_self(), ("worker " + std::to_string(index_)).substr(0, 15).c_str());
  for (auto& u : udp_) u->start();
  for (auto& t : tcp_) t->start();
  uv_prepare_start(&turn_, on_turn);
  // First beat on the first loop turn: the watchdog's first check sees a moved counter.
  if (heartbeat_ms_) uv_timer_start(&heartbeat_timer_, on_heartbeat, 0, heartbeat_ms_);
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Every handle is closed by now; release the loop.
  if (uv_loop_close(&loop_) != 0) spdlog::warn("worker {}: loop closed with open handles", index_);
}

void Worker::request_stop() {
  uv_async_send(&stop_async_);
}

void Worker::on_heartbeat(uv_timer_t* t) {
  static_cast<Worker*>(t->data)->heartbeat_.fetch_add(1, std::memory_order_relaxed);
}

void Worker::on_stop(uv_async_t* a) {
  static_cast<Worker*>(a->data)->begin_drain();
}

void Worker::begin_drain() {
  if (drain_started_ms_) return;
  drain_started_ms_ = uv_now(&loop_);
  // UDP sockets stay open (not reading) until the drain ends: answers in flight leave
  // through them.
  for (auto& u : udp_) u->stop_receiving();
  for (auto& t : tcp_) t->close();
  tcp_connections_.drain_all();
  uv_timer_start(&drain_timer_, on_drain_tick, 0, kDrainTickMs);
}

bool Worker::drained() const {
  if (pipeline_.in_flight() > 0) return false;
  return tcp_connections_.size() == 0;
}

void Worker::on_drain_tick(uv_timer_t* t) {
  auto* self = static_cast<Worker*>(t->data);
  if (self->drained()) {
    self->close_all();
    return;
  }
  const uint64_t waited = uv_now(&self->loop_) - self->drain_started_ms_;
  const uint64_t limit =
      static_cast<uint64_t>(self->live_->config->upstream.deadline.count()) + kDrainGraceMs;
  if (!self->forced_ && waited > limit) {
    self->forced_ = true;
    spdlog::warn("worker {}: {} queries still in flight at shutdown, answering SERVFAIL",
                 self->index_, self->pipeline_.in_flight());
    self->pipeline_.fail_all();
  } else if (waited > limit + kDrainGraceMs * 4) {
    self->tcp_connections_.close_all();
  }
}

void Worker::close_all() {
  for (auto& u : udp_) u->close();
  uv_timer_stop(&drain_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  uv_timer_stop(&heartbeat_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&heartbeat_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_async_), nullptr);
  uv_prepare_stop(&turn_);
  uv_close(reinterpret_cast<uv_handle_t*>(&turn_), nullptr);
  pool_->close();
  for (auto& r : retired_pools_) r.transport->close();
}

}  // namespace sinkhole::pipeline
