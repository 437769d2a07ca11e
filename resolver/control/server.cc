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

#include "resolver/config/config_diff.h"
#include "resolver/feeds/list_changes.h"
#include "resolver/observe/dnstap_setup.h"
#include "resolver/observe/status_report.h"

namespace sinkhole::control {

namespace {

int64_t now_unix() {
  return static_cast<int64_t>(std::time(nullptr));
}

cache::CacheOptions cache_options(const config::CacheConfig& c) {
  cache::CacheOptions co;
  co.max_bytes = c.max_bytes;
  co.min_ttl = c.min_ttl;
  co.max_ttl = c.max_ttl;
  co.max_negative_ttl = c.max_negative_ttl;
  co.stale_ms = static_cast<uint64_t>(c.serve_stale.count());
  return co;
}

// One packet cache shared by every worker (sharded; see resolver/cache/packet_cache.h),
// made even when cache.max_bytes is 0 (then disabled) so that a reload can turn it on.
std::unique_ptr<cache::PacketCache> make_cache(const config::CacheConfig& c) {
  return std::make_unique<cache::PacketCache>(cache_options(c));
}

// The opt-in blocked-query log: its own async logger with a bounded queue that drops the
// oldest line when full, so that a burst of blocked queries never blocks a worker on
// stderr/journald. Text lines get the time in front; a JSON line carries its own
// (pipeline/blocked_log_line.h), so nothing may stand outside the object.
std::shared_ptr<spdlog::logger> make_blocked_query_log(config::LogConfig::BlockedFormat format) {
  static std::once_flag once;
  std::call_once(once, [] { spdlog::init_thread_pool(65536, 1); });
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto log = std::make_shared<spdlog::async_logger>("blocked", sink, spdlog::thread_pool(),
                                                    spdlog::async_overflow_policy::overrun_oldest);
  log->set_pattern(format == config::LogConfig::BlockedFormat::kJson ? "%v"
                                                                     : "%Y-%m-%dT%H:%M:%S.%e %v");
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
  live_.publish(live_settings(std::make_shared<const config::Config>(cfg_), 1));
  state_.cfg = &cfg_;
  state_.live = &live_;
  state_.upstream_slots = &upstream_slots_;
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
  if (!start_control_socket()) {
    uv_run(&loop_, UV_RUN_NOWAIT);  // finishes closing the socket's handle
    return 1;
  }
  make_workers();
  handle_reloads();
  start_feeds();
  watch_health();  // before the metrics thread, which reads it
  start_metrics();
  watch_files();
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
    workers_.push_back(std::make_unique<pipeline::Worker>(live_, w, std::move(startup_.fds[w]),
                                                          holder_, cache_.get()));
  for (auto& w : workers_) w->set_worker_count(static_cast<unsigned>(workers_.size()));
  // NOTIFY for RPZ feed lists: from a worker to the feed manager (its own queue and async).
  for (auto& w : workers_)
    w->set_notify_sink([this](const std::string& zone, const std::string& from) {
      if (feeds_) feeds_->notify(zone, from);
    });
  if (dnstap_)
    for (auto& w : workers_) w->attach_dnstap(*dnstap_);
}

std::shared_ptr<const pipeline::LiveSettings> Server::live_settings(
    std::shared_ptr<const config::Config> cfg, uint64_t generation) {
  auto s = std::make_shared<pipeline::LiveSettings>();
  s->generation = generation;
  s->upstream_rows = upstream_slots_.assign(cfg->upstream.servers);
  if (cfg->log.blocked_queries) {
    // One logger per format, made when first used, then kept: a reload may switch between
    // them while a worker still holds the other.
    const auto format = cfg->log.blocked_queries_format;
    auto& log = blocked_logs_[format == config::LogConfig::BlockedFormat::kJson ? 1 : 0];
    if (!log) log = make_blocked_query_log(format);
    s->blocked_log = log;
  }
  s->config = std::move(cfg);
  return s;
}

// Right after the reload's snapshot: what every thread shares is reconfigured here, what
// each worker owns is published for it to pick up on its next loop turn.
Reloader::Applied Server::apply_config(std::shared_ptr<const config::Config> next) {
  Reloader::Applied applied;
  applied.restart_required = config::restart_required_changes(cfg_, *next);
  auto in_force = std::make_shared<config::Config>(*next);
  config::keep_restart_settings(*in_force, cfg_);
  const auto serving = live_.current();
  applied.live = config::live_changes(*serving->config, *in_force);
  const config::Config& c = *in_force;
  cache_->reconfigure(cache_options(c.cache));
  spdlog::set_level(spdlog::level::from_str(c.log.level));
  live_.publish(live_settings(std::move(in_force), serving->generation + 1));
  return applied;
}

// SIGHUP, sinkholectl reload and file changes all end here. systemd hears RELOADING=1 and
// READY=1 around every build, with the outcome in STATUS.
void Server::handle_reloads() {
  reloader_ = std::make_unique<Reloader>(&loop_, cfg_.path, holder_, startup_.block_stats);
  reloader_->record_initial(startup_.build_seconds, startup_.warnings);
  state_.reloads = &reloader_->status();
  reloader_->apply_config = [this](std::shared_ptr<const config::Config> next) {
    return apply_config(std::move(next));
  };
  reloader_->on_started = [this] { notify_.reloading(); };
  reloader_->on_finished = [this](const Reloader::Outcome& o) {
    const char* what = o.feed ? "feed build" : "reload";
    notify_.reloaded(o.ok ? fmt::format("{}: policy generation {} in service ({})",
                                        o.feed ? "feed build" : "reloaded", o.generation, o.message)
                          : fmt::format("{} FAILED, policy generation {} still in service: {}",
                                        what, o.generation, o.message));
  };
}

// Feed lists: their feeds start from the copies the start-up build read, and each feed's
// new copy goes through a build (Reloader::candidates) before it serves.
void Server::start_feeds() {
  feeds_ = std::make_unique<feeds::FeedManager>(&loop_, cfg_.server.state_dir,
                                                cfg_.server.audit_log_path());
  state_.feeds = &feeds_->status();
  commands_.feeds = feeds_.get();
  reloader_->state_dir = cfg_.server.state_dir;
  reloader_->candidates = [this] { return feeds_->candidates(); };
  reloader_->stage_candidates = [this] { return feeds_->stage_candidates(); };
  reloader_->describe_candidate = [this](const std::string& list) {
    return feeds_->describe(list);
  };
  // A feed's copy is built from the snapshot serving, not from the files (Reloader::Kind).
  feeds_->request_build = [this] { reloader_->request(nullptr, false, Reloader::Kind::kFeed); };
  commands_.feed_build = [this](Reloader::Done done) {
    reloader_->request(std::move(done), false, Reloader::Kind::kFeed);
  };
  reloader_->on_built = [this](const Reloader::Outcome& o) {
    feeds_->build_finished(o.ok, o.candidates, o.refusals, *holder_.current());
    // File lists: content changes, lists added or removed, refusals (the feed manager
    // reports its candidates' own).
    feeds::record_reload(feeds_->audit(), feeds_->status(), o.ok, o.previous.get(),
                         *holder_.current(), o.refusals, o.candidates, o.requested_ms,
                         feeds::unix_now_ms(), o.feed);
    for (const auto& list : o.superseded_pushes) feeds_->push_superseded(list);
    if (o.ok) feeds_->reconcile(*holder_.current());
  };
  feeds_->reconcile(*holder_.current());
  feeds::record_reload(feeds_->audit(), feeds_->status(), true, nullptr, *holder_.current(), {}, {},
                       0, feeds::unix_now_ms());
}

void Server::start_metrics() {
  if (startup_.metrics_fd < 0) return;
  std::string error;
  if (http_.start(std::exchange(startup_.metrics_fd, -1), cfg_.metrics, state_, &error))
    spdlog::info("metrics: http://{}/metrics", cfg_.metrics.listen->to_string());
  else
    spdlog::error("metrics listener {}: {}", cfg_.metrics.listen->to_string(), error);
}

// The config and every list it names; re-armed after each reload (lists may have changed,
// and so may control.watch_files and control.watch_debounce).
void Server::watch_files() {
  watcher_ = std::make_unique<FileWatcher>(&loop_, cfg_.control.watch_debounce,
                                           [this] { reloader_->request(); });
  if (cfg_.control.watch_files) watcher_->watch(watched_files());
  reloader_->on_published = [this] { arm_file_watches(); };
}

void Server::arm_file_watches() {
  if (!watcher_) return;
  const config::ControlConfig& c = live_.current()->config->control;
  watcher_->set_debounce(c.watch_debounce);
  watcher_->watch(c.watch_files ? watched_files() : std::vector<std::string>{});
}

std::vector<std::string> Server::watched_files() const {
  std::vector<std::string> files{cfg_.path};
  // A feed list's copy changes only through its feed's own build: watching it would
  // reload once more after every promotion.
  // Likewise the local overrides and pushed copies (sinkholectl builds them); a file list
  // serving a pushed copy is watched at its configured file, whose change ends the push.
  for (const auto& l : holder_.current()->lists)
    if (!l.source.is_feed() && !l.override_list)
      files.push_back(l.configured_path.empty() ? l.path : l.configured_path);
  return files;
}

// Before the workers: a socket that cannot be made fails the start (main checked the group
// and the directory already). Requests are served once the loop runs, after every step.
bool Server::start_control_socket() {
  commands_.state = &state_;
  commands_.reload = [this](bool force, Reloader::Done done) {
    reloader_->request(std::move(done), force);
  };
  commands_.now_unix = now_unix;
  // The configuration in force: the live settings' Config (restart-required keys kept as
  // the process started). Read on the control thread, where reloads also swap it.
  commands_.config = [this]() -> const config::Config& { return *live_.current()->config; };
  if (cfg_.control.socket.empty()) return true;
  std::string error;
  const bool open = control_socket_.open(
      &loop_, cfg_.control.socket,
      [this](const std::string& request, ControlSocket::Answer answer) {
        dispatch(commands_, request, [answer](const Reply& r) { answer(to_line(r)); });
      },
      &error, cfg_.control.mode, cfg_.control.group);
  if (!open) spdlog::critical("control socket {}: {}; not starting", cfg_.control.socket, error);
  return open;
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
  self->live_.collect();
  if (self->startup_.block_stats) self->startup_.block_stats->protected_users().rotate(now_unix());
}

// Once a second: upstream states (logged once per change) and worker heartbeats, for
// /healthz, `sinkholectl upstreams` and `status`.
void Server::watch_health() {
  health_ = std::make_unique<observe::HealthMonitor>(state_, uv_now(&loop_));
  state_.health = health_.get();
  uv_timer_init(&loop_, &health_timer_);
  health_timer_.data = this;
  uv_timer_start(&health_timer_, on_health, observe::HealthMonitor::kTickMs,
                 observe::HealthMonitor::kTickMs);
}

void Server::on_health(uv_timer_t* t) {
  auto* self = static_cast<Server*>(t->data);
  uv_update_time(&self->loop_);
  self->health_->tick(uv_now(&self->loop_));
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
  // Without a watchdog the health monitor still reads them (/healthz: a stuck worker).
  const auto period = watchdog_.start().value_or(observe::HealthMonitor::kHeartbeatPeriod);
  for (auto& w : workers_) w->enable_heartbeat(period);
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
  const config::UpstreamConfig& up = live_.current()->config->upstream;
  spdlog::info("sinkholed ready: {} worker(s), listening on {}, forwarding to {}{}",
               workers_.size(), listen, joined(up.servers),
               up.from_resolv_conf ? " (from resolv.conf)" : "");
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
  if (feeds_) feeds_->stop();
  control_socket_.close();
  watcher_->close();
  for (auto& w : workers_) w->request_stop();
  for (auto& s : signals_) uv_close(reinterpret_cast<uv_handle_t*>(&s), nullptr);
  uv_timer_stop(&collect_);
  uv_close(reinterpret_cast<uv_handle_t*>(&collect_), nullptr);
  uv_timer_stop(&health_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&health_timer_), nullptr);
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
