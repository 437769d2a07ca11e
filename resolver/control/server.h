// SPDX-License-Identifier: MIT
// Server: the control thread of a running sinkholed. Takes what main() prepared (the
// listen sockets bound by listeners.h, the policy snapshot built at start) and runs the
// server in named steps: start dnstap, open the control socket, make the workers, handle
// reloads, watch health (upstream states, worker heartbeats: observe/health_monitor.h),
// start the metrics listener, watch the files, collect retired snapshots, handle signals
// (SIGTERM/SIGINT: graceful stop; SIGHUP: reload; SIGUSR1: log counters), start the worker threads,
// announce readiness; then the control loop turns until a stop, and shut_down() joins the workers
// and flushes what they left. Construct, run() and destroy on one thread (main's): it becomes the
// control thread.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "policy/snapshot.h"
#include "policy/snapshot_holder.h"
#include "resolver/cache/packet_cache.h"
#include "resolver/config/config.h"
#include "resolver/feeds/feed_manager.h"
#include "resolver/control/command_handlers.h"
#include "resolver/control/control_socket.h"
#include "resolver/control/file_watcher.h"
#include "resolver/control/reloader.h"
#include "resolver/dnstap/dnstap_writer.h"
#include "resolver/metrics/block_stats.h"
#include "resolver/observe/health_monitor.h"
#include "resolver/observe/metrics_http.h"
#include "resolver/observe/server_state.h"
#include "resolver/pipeline/live_settings.h"
#include "resolver/pipeline/worker.h"
#include "resolver/systemd/systemd_notify.h"
#include "resolver/systemd/watchdog.h"
#include "resolver/upstream/upstream_slots.h"

namespace spdlog {
class logger;
}

namespace sinkhole::control {

// What main() prepared before the server starts.
struct Startup {
  std::vector<pipeline::ListenFds> fds;                    // one per worker: bind_listeners
  int metrics_fd = -1;                                     // bind_metrics_listener, or -1
  std::shared_ptr<const policy::PolicySnapshot> policies;  // built at start (generation 1)
  double build_seconds = 0;                                // of that build
  metrics::BlockStats* block_stats = nullptr;              // the cells that snapshot counts into
  std::vector<std::string> warnings;  // of that build: list summaries, strict checks
};

class Server {
 public:
  // `cfg` (the settings the process starts with, and keeps for the restart-required keys)
  // must outlive the server.
  Server(const config::Config& cfg, Startup startup);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs until SIGTERM/SIGINT; returns the process exit code (1: dnstap output or control
  // socket unusable).
  int run();

 private:
  bool start_dnstap();
  void make_workers();
  void handle_reloads();
  void start_feeds();
  void start_metrics();
  void watch_files();
  bool start_control_socket();
  void collect_retired_snapshots();
  void watch_health();
  void handle_signals();
  void start_workers();
  void announce_ready();
  void stop(int signum);  // the loop ends once every handle is closed
  void shut_down();

  void log_stats() const;
  // The live settings of `cfg` (generation `generation`) as workers apply them.
  std::shared_ptr<const pipeline::LiveSettings> live_settings(
      std::shared_ptr<const config::Config> cfg, uint64_t generation);
  // A reload's Config: shared state reconfigured, then the live settings published.
  Reloader::Applied apply_config(std::shared_ptr<const config::Config> next);
  void arm_file_watches();
  std::vector<std::string> watched_files() const;
  std::vector<uint64_t> heartbeats() const;
  static void on_signal(uv_signal_t* s, int signum);
  static void on_collect(uv_timer_t* t);
  static void on_health(uv_timer_t* t);

  const config::Config& cfg_;
  Startup startup_;
  uv_loop_t loop_{};
  policy::SnapshotHolder holder_;
  pipeline::LiveSettingsHolder live_;  // the settings in force (live_settings.h)
  upstream::UpstreamSlots upstream_slots_;
  std::unique_ptr<cache::PacketCache> cache_;     // disabled while cache.max_bytes is 0
  std::unique_ptr<dnstap::DnstapWriter> dnstap_;  // null without a dnstap: section
  std::vector<std::unique_ptr<pipeline::Worker>> workers_;
  // The blocked-query log, text [0] and JSON [1]: each made when first turned on, then kept.
  std::array<std::shared_ptr<spdlog::logger>, 2> blocked_logs_;
  std::vector<std::thread> threads_;
  systemd::SystemdNotify notify_;
  systemd::Watchdog watchdog_;
  std::unique_ptr<Reloader> reloader_;
  std::unique_ptr<feeds::FeedManager> feeds_;  // feed lists (RPZ secondary, HTTP)
  observe::ServerState state_;
  observe::MetricsHttp http_;
  std::unique_ptr<FileWatcher> watcher_;
  ControlSocket control_socket_;
  CommandContext commands_;
  std::array<uv_signal_t, 4> signals_{};  // SIGTERM, SIGINT, SIGHUP, SIGUSR1
  uv_timer_t collect_{};
  std::unique_ptr<observe::HealthMonitor> health_;
  uv_timer_t health_timer_{};
  bool stopping_ = false;
};

}  // namespace sinkhole::control
