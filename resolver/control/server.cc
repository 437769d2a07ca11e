// SPDX-License-Identifier: MIT
#include "resolver/control/server.h"

#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <ctime>
#include <mutex>
#include <utility>

#include "resolver/observe/dnstap_setup.h"
#include "resolver/observe/status_report.h"

namespace sinkhole::control {

namespace {

int64_t now_unix() {
  return static_cast<int64_t>(std::time(nullptr));
}

// One packet cache shared by every worker (sharded; see resolver/cache/packet_cache.h).
std::unique_ptr<cache::PacketCache> make_cache(const config::CacheConfig& c) {
  if (c.max_bytes == 0) return nullptr;
  cache::CacheOptions co;
  co.max_bytes = c.max_bytes;
  co.min_ttl = c.min_ttl;
  co.max_ttl = c.max_ttl;
  co.max_negative_ttl = c.max_negative_ttl;
  co.stale_ms = static_cast<uint64_t>(c.serve_stale.count());
  return std::make_unique<cache::PacketCache>(co);
}

// The opt-in blocked-query log: its own async logger with a bounded queue that drops the
// oldest line when full, so that a burst of blocked queries never blocks a worker on
// stderr/journald.
std::shared_ptr<spdlog::logger> make_blocked_query_log() {
  static std::once_flag once;
  std::call_once(once, [] { spdlog::init_thread_pool(65536, 1); });
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto log = std::make_shared<spdlog::async_logger>("blocked", sink, spdlog::thread_pool(),
                                                    spdlog::async_overflow_policy::overrun_oldest);
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %v");
  log->set_level(spdlog::level::info);
  return log;
}

template <typename T>
std::string joined(const std::vector<T>& items) {
  std::string out;
  for (const auto& a : items) out += (out.empty() ? "" : ", ") + a.to_string();
  return out;
}

}  // namespace

Server::Server(const config::Config& cfg, Startup startup)
    : cfg_(cfg),
      startup_(std::move(startup)),
      cache_(make_cache(cfg.cache)),
      watchdog_(&loop_, notify_, [this] { return heartbeats(); }) {
  uv_loop_init(&loop_);
  holder_.publish(std::move(startup_.policies));
  state_.cfg = &cfg_;
  state_.workers = &workers_;
  state_.holder = &holder_;
  state_.cache = cache_.get();
  state_.block_stats = startup_.block_stats;
  state_.started_unix = now_unix();
}

Server::~Server() {
  // Every handle was closed by stop() (or never opened, when run() failed early).
  uv_loop_close(&loop_);
}

int Server::run() {
  if (!start_dnstap()) return 1;
  make_workers();
  handle_reloads();
  start_metrics();
  watch_files();
  start_control_socket();
  collect_retired_snapshots();
  handle_signals();
  start_workers();
  announce_ready();
  uv_run(&loop_, UV_RUN_DEFAULT);
  shut_down();
  return 0;
}

// dnstap (opt-in): one I/O thread, one queue per worker. Made before the workers so that
// an unusable output stops the start; reset after they stop (shut_down), which writes the
// messages of the last answers and must happen while their counters still exist.
bool Server::start_dnstap() {
  if (!cfg_.dnstap) return true;
  dnstap_ = observe::start_dnstap(*cfg_.dnstap, static_cast<unsigned>(startup_.fds.size()));
  return dnstap_ != nullptr;
}

void Server::make_workers() {
  for (unsigned w = 0; w < startup_.fds.size(); ++w)
    workers_.push_back(std::make_unique<pipeline::Worker>(cfg_, w, std::move(startup_.fds[w]),
                                                          holder_, cache_.get()));
  for (auto& w : workers_) w->set_worker_count(static_cast<unsigned>(workers_.size()));
  if (dnstap_)
    for (auto& w : workers_) w->attach_dnstap(*dnstap_);
  if (cfg_.log.blocked_queries) {
    blocked_log_ = make_blocked_query_log();
    for (auto& w : workers_) w->set_blocked_log(blocked_log_.get());
  }
}

// SIGHUP, sinkholectl reload and file changes all end here. systemd hears RELOADING=1 and
// READY=1 around every build, with the outcome in STATUS.
void Server::handle_reloads() {
  reloader_ = std::make_unique<Reloader>(&loop_, cfg_.path, holder_, startup_.block_stats);
  reloader_->record_initial(startup_.build_seconds);
  state_.reloads = &reloader_->status();
  reloader_->on_started = [this] { notify_.reloading(); };
  reloader_->on_finished = [this](const Reloader::Outcome& o) {
    notify_.reloaded(o.ok ? fmt::format("reloaded: policy generation {} in service ({})",
                                        o.generation, o.message)
                          : fmt::format("reload FAILED, policy generation {} still in service: {}",
                                        o.generation, o.message));
  };
}

void Server::start_metrics() {
  if (startup_.metrics_fd < 0) return;
  std::string error;
  if (http_.start(std::exchange(startup_.metrics_fd, -1), cfg_.metrics, state_, &error))
    spdlog::info("metrics: http://{}/metrics", cfg_.metrics.listen->to_string());
  else
    spdlog::error("metrics listener {}: {}", cfg_.metrics.listen->to_string(), error);
}

// The config and every list it names; re-armed after each reload (lists may have changed).
void Server::watch_files() {
  watcher_ = std::make_unique<FileWatcher>(&loop_, cfg_.control.watch_debounce,
                                           [this] { reloader_->request(); });
  if (!cfg_.control.watch_files) return;
  watcher_->watch(watched_files());
  reloader_->on_published = [this] { watcher_->watch(watched_files()); };
}

std::vector<std::string> Server::watched_files() const {
  std::vector<std::string> files{cfg_.path};
  for (const auto& l : holder_.current()->lists) files.push_back(l.path);
  return files;
}

void Server::start_control_socket() {
  commands_.state = &state_;
  commands_.reload = [this](bool force, Reloader::Done done) {
    reloader_->request(std::move(done), force);
  };
  commands_.now_unix = now_unix;
  commands_.config = [this]() -> const config::Config& { return cfg_; };
  if (cfg_.control.socket.empty()) return;
  std::string error;
  const bool open = control_socket_.open(
      &loop_, cfg_.control.socket,
      [this](const std::string& request, ControlSocket::Answer answer) {
        dispatch(commands_, request, [answer](const Reply& r) { answer(to_line(r)); });
      },
      &error, cfg_.control.mode, cfg_.control.group);
  if (!open)
    spdlog::error("control socket {}: {}; sinkholectl will not reach this server",
                  cfg_.control.socket, error);
}

// Retired snapshots are released here, once no worker holds them, never on a worker. The
// same tick clears the protected-user bucket that comes next (workers never clear).
void Server::collect_retired_snapshots() {
  uv_timer_init(&loop_, &collect_);
  collect_.data = this;
  uv_timer_start(&collect_, on_collect, 1000, 1000);
}

void Server::on_collect(uv_timer_t* t) {
  auto* self = static_cast<Server*>(t->data);
  const size_t before = self->holder_.retired();
  // A freed snapshot leaves tens of MB in malloc's free lists: give them back.
  if (self->holder_.collect() < before) malloc_trim(0);
  if (self->startup_.block_stats) self->startup_.block_stats->protected_users().rotate(now_unix());
}

void Server::handle_signals() {
  const int numbers[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
  for (size_t i = 0; i < signals_.size(); ++i) {
    uv_signal_init(&loop_, &signals_[i]);
    signals_[i].data = this;
    uv_signal_start(&signals_[i], on_signal, numbers[i]);
  }
}

void Server::on_signal(uv_signal_t* s, int signum) {
  auto* self = static_cast<Server*>(s->data);
  if (signum == SIGUSR1) return self->log_stats();
  if (signum == SIGHUP) {
    spdlog::info("SIGHUP: reloading {}", self->cfg_.path);
    return self->reloader_->request();
  }
  self->stop(signum);
}

void Server::start_workers() {
  // Before the threads: the watchdog needs their heartbeats, which only a worker that has
  // not started yet may turn on.
  if (const auto period = watchdog_.start())
    for (auto& w : workers_) w->enable_heartbeat(*period);
  for (auto& w : workers_) threads_.emplace_back([&w] { w->run(); });
}

std::vector<uint64_t> Server::heartbeats() const {
  std::vector<uint64_t> beats;
  beats.reserve(workers_.size());
  for (const auto& w : workers_) beats.push_back(w->heartbeat());
  return beats;
}

void Server::announce_ready() {
  const std::string listen = joined(cfg_.server.listen);
  spdlog::info("sinkholed ready: {} worker(s), listening on {}, forwarding to {}{}",
               workers_.size(), listen, joined(cfg_.upstream.servers),
               cfg_.upstream.from_resolv_conf ? " (from resolv.conf)" : "");
  notify_.ready(fmt::format("serving on {} with {} worker(s); policy generation {} in service",
                            listen, workers_.size(), holder_.generation()));
}

void Server::stop(int signum) {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("{}: stopping; answering queries in flight",
               signum == SIGTERM ? "SIGTERM" : "SIGINT");
  notify_.stopping();
  watchdog_.close();
  reloader_->stop();
  control_socket_.close();
  watcher_->close();
  for (auto& w : workers_) w->request_stop();
  for (auto& s : signals_) uv_close(reinterpret_cast<uv_handle_t*>(&s), nullptr);
  uv_timer_stop(&collect_);
  uv_close(reinterpret_cast<uv_handle_t*>(&collect_), nullptr);
}

void Server::shut_down() {
  for (auto& t : threads_) t.join();
  dnstap_.reset();  // flushes the queues to the collector, then closes the stream
  http_.stop();     // it reads the workers' counters: stop it before they go
  log_stats();
  spdlog::info("stopped");
}

// SIGUSR1 (and the last line before exit): every counter as one JSON object.
void Server::log_stats() const {
  const auto counters = observe::counters_json(observe::server_counters(state_));
  spdlog::info("stats {}", counters.dump());
}

}  // namespace sinkhole::control
