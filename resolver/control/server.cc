// SPDX-License-Identifier: MIT
#include "resolver/control/server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <malloc.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "policy/snapshot_holder.h"
#include "resolver/metrics/json_text.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/control/control_commands.h"
#include "resolver/control/control_socket.h"
#include "resolver/observe/dnstap_setup.h"
#include "resolver/control/file_watcher.h"
#include "resolver/observe/metrics_http.h"
#include "resolver/control/reloader.h"
#include "resolver/systemd/systemd_notify.h"
#include "resolver/systemd/watchdog.h"
#include "resolver/pipeline/worker.h"

namespace sinkhole::control {

namespace {

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

struct Control {
  std::vector<std::unique_ptr<pipeline::Worker>>* workers;
  const config::Config* cfg;
  policy::SnapshotHolder* holder;
  Reloader* reloader;
  ControlSocket* control_socket;
  FileWatcher* watcher;
  systemd::SystemdNotify* notify;
  systemd::Watchdog* watchdog;
  uv_signal_t term, intr, hup, usr1;
  uv_timer_t collect;
  bool stopping = false;
  int64_t started_unix = 0;
  observe::ServerState* state = nullptr;
};

std::vector<std::pair<std::string, uint64_t>> all_counters(const Control& c) {
  std::vector<const metrics::WorkerCounters*> all;
  for (const auto& w : *c.workers) all.push_back(&w->counters());
  auto values = metrics::sum(all);
  values.emplace_back("reloads", c.reloader->status().reloads());
  values.emplace_back("reload_failures", c.reloader->status().failures());
  values.emplace_back("snapshot_generation", c.holder->generation());
  return values;
}

void log_stats(const Control& c) {
  spdlog::info("stats {}", metrics::to_json(all_counters(c)));
}

// `sinkholectl status`: what an operator checks first.
std::string status_text(const Control& c, bool json) {
  const auto snap = c.holder->current();
  const auto counters = all_counters(c);
  auto get = [&](const char* name) {
    for (const auto& [k, v] : counters)
      if (k == name) return v;
    return uint64_t{0};
  };
  size_t entries = 0;
  for (const auto& l : snap->lists) entries += l.stats.entries;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (json) {
    std::string lists;
    for (const auto& l : snap->lists)
      lists += fmt::format(
          "{}{{\"name\":\"{}\",\"category\":\"{}\",\"entries\":{},\"rejected\":{}}}",
          lists.empty() ? "" : ",", l.name, l.category, l.stats.entries, l.stats.rejects.size());
    return fmt::format(
        "{{\"status\":\"running\",\"uptime_s\":{},\"workers\":{},\"generation\":{},"
        "\"reloads\":{},\"reload_failures\":{},\"last_reload_s\":{:.3f},"
        "\"last_reload_unix\":{},\"last_reload_error\":{},\"lists\":[{}],"
        "\"entries\":{},\"policies\":{},\"counters\":{}}}",
        now - c.started_unix, c.workers->size(), snap->generation, c.reloader->status().reloads(),
        c.reloader->status().failures(), c.reloader->status().last_seconds(), c.reloader->status().last_success_unix(),
        metrics::json_quoted(c.reloader->status().last_error()), lists, entries, snap->policies.size(),
        metrics::to_json(counters));
  }
  std::string out = fmt::format(
      "sinkholed running for {} s, {} worker(s)\n"
      "policy generation {} ({} list(s), {} entries, {} polic{})\n"
      "reloads {} ok, {} failed; last reload {:.3f} s\n",
      now - c.started_unix, c.workers->size(), snap->generation, snap->lists.size(), entries,
      snap->policies.size(), snap->policies.size() == 1 ? "y" : "ies", c.reloader->status().reloads(),
      c.reloader->status().failures(), c.reloader->status().last_seconds());
  if (!c.reloader->status().last_error().empty())
    out += "last reload FAILED (old policy still serving): " + c.reloader->status().last_error() + "\n";
  for (const auto& l : snap->lists)
    out += fmt::format("  list {:<20} {:<12} {:>9} entries {:>5} rejected lines\n", l.name,
                       l.category, l.stats.entries, l.stats.rejects.size());
  out += fmt::format("queries {} udp / {} tcp, blocked {}, refused (no policy) {}, servfail {}\n",
                     get("queries_udp"), get("queries_tcp"), get("blocked"),
                     get("refused_no_policy"), get("answers_servfail"));
  return out;
}

void handle_command(Control& c, const std::string& command, ControlSocket::Reply reply) {
  if (command == "reload") {
    spdlog::info("control: reload requested");
    c.reloader->request([reply](const Reloader::Outcome& o) {
      reply(o.ok ? fmt::format("ok: generation {} in service: {} ({:.3f} s)", o.generation,
                               o.message, o.seconds)
                 : fmt::format("failed: {} (generation {} still in service)", o.message,
                               o.generation));
    });
  } else if (command == "status") {
    reply(status_text(c, false));
  } else if (command == "status json") {
    reply(status_text(c, true));
  } else if (std::string out; handle_state_command(*c.state, command, out)) {
    reply(out);
  } else {
    reply("error: unknown command '" + command +
          "' (reload, status, stats, lists, explain NAME [CLIENT], cache flush [NAME])");
  }
}

// Files whose change should trigger a reload: the config and every list it names.
std::vector<std::string> watched_files(const Control& c) {
  std::vector<std::string> files{c.cfg->path};
  for (const auto& l : c.holder->current()->lists) files.push_back(l.path);
  return files;
}

void on_signal(uv_signal_t* s, int signum) {
  auto* c = static_cast<Control*>(s->data);
  if (signum == SIGUSR1) {
    log_stats(*c);
    return;
  }
  if (signum == SIGHUP) {
    spdlog::info("SIGHUP: reloading {}", c->cfg->path);
    c->reloader->request();
    return;
  }
  if (c->stopping) return;
  c->stopping = true;
  spdlog::info("{}: stopping; answering queries in flight",
               signum == SIGTERM ? "SIGTERM" : "SIGINT");
  c->notify->stopping();
  c->watchdog->close();
  c->reloader->stop();
  c->control_socket->close();
  c->watcher->close();
  for (auto& w : *c->workers) w->request_stop();
  for (uv_signal_t* h : {&c->term, &c->intr, &c->hup, &c->usr1})
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  uv_timer_stop(&c->collect);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->collect), nullptr);
}

}  // namespace

int run_server(const config::Config& cfg, std::vector<pipeline::ListenFds> fds,
               std::shared_ptr<const policy::PolicySnapshot> policies, const StartExtras& extras) {
  policy::SnapshotHolder holder;
  holder.publish(std::move(policies));
  const auto n_workers = static_cast<unsigned>(fds.size());

  // One packet cache shared by every worker (sharded; see resolver/cache/packet_cache.h).
  std::unique_ptr<cache::PacketCache> cache;
  if (cfg.cache.max_bytes > 0) {
    cache::CacheOptions co;
    co.max_bytes = cfg.cache.max_bytes;
    co.min_ttl = cfg.cache.min_ttl;
    co.max_ttl = cfg.cache.max_ttl;
    co.max_negative_ttl = cfg.cache.max_negative_ttl;
    co.stale_ms = static_cast<uint64_t>(cfg.cache.serve_stale.count());
    cache = std::make_unique<cache::PacketCache>(co);
  }
  // dnstap (opt-in): one I/O thread, one queue per worker. Made before the workers so that
  // an unusable output stops the start; reset after they stop (below), which writes the
  // messages of the last answers and must happen while their counters still exist.
  std::unique_ptr<dnstap::DnstapWriter> dnstap_writer;
  if (cfg.dnstap && !(dnstap_writer = observe::start_dnstap(*cfg.dnstap, n_workers))) return 1;
  std::vector<std::unique_ptr<pipeline::Worker>> workers;
  for (unsigned w = 0; w < n_workers; ++w)
    workers.push_back(std::make_unique<pipeline::Worker>(cfg, w, std::move(fds[w]), holder, cache.get()));
  if (dnstap_writer)
    for (auto& w : workers) w->attach_dnstap(*dnstap_writer);
  std::shared_ptr<spdlog::logger> blocked_log;
  if (cfg.log.blocked_queries) {
    blocked_log = make_blocked_query_log();
    for (auto& w : workers) w->set_blocked_log(blocked_log.get());
  }

  uv_loop_t loop;
  uv_loop_init(&loop);
  Control control;
  control.workers = &workers;
  control.cfg = &cfg;
  control.holder = &holder;
  control.started_unix = static_cast<int64_t>(std::time(nullptr));
  // systemd: READY=1 below, RELOADING=1/READY=1 around every reload, STOPPING=1 on
  // SIGTERM, and watchdog pings only while every worker loop turns (watchdog.h).
  systemd::SystemdNotify notify;
  control.notify = &notify;
  systemd::Watchdog watchdog(&loop, notify, workers);
  control.watchdog = &watchdog;
  Reloader reloader(&loop, cfg.path, holder, extras.block_stats);
  reloader.record_initial(extras.build_seconds);
  control.reloader = &reloader;
  observe::ServerState state;
  state.cfg = &cfg;
  state.workers = &workers;
  state.holder = &holder;
  state.cache = cache.get();
  state.block_stats = extras.block_stats;
  state.reloads = &reloader.status();
  state.started_unix = control.started_unix;
  control.state = &state;
  observe::MetricsHttp http;
  if (extras.metrics_fd >= 0) {
    std::string error;
    if (http.start(extras.metrics_fd, state, &error))
      spdlog::info("metrics: http://{}/metrics", cfg.metrics.listen->to_string());
    else
      spdlog::error("metrics listener {}: {}", cfg.metrics.listen->to_string(), error);
  }
  reloader.on_started = [&notify] { notify.reloading(); };
  reloader.on_finished = [&notify](const Reloader::Outcome& o) {
    notify.reloaded(o.ok ? fmt::format("reloaded: policy generation {} in service ({})",
                                       o.generation, o.message)
                         : fmt::format("reload FAILED, policy generation {} still in service: {}",
                                       o.generation, o.message));
  };
  FileWatcher watcher(&loop, cfg.control.watch_debounce, [&reloader] { reloader.request(); });
  control.watcher = &watcher;
  if (cfg.control.watch_files) {
    watcher.watch(watched_files(control));
    reloader.on_published = [&control, &watcher] { watcher.watch(watched_files(control)); };
  }
  ControlSocket control_socket;
  control.control_socket = &control_socket;
  if (!cfg.control.socket.empty()) {
    std::string error;
    if (!control_socket.open(
            &loop, cfg.control.socket,
            [&control](const std::string& cmd, ControlSocket::Reply reply) {
              handle_command(control, cmd, std::move(reply));
            },
            &error, cfg.control.mode, cfg.control.group))
      spdlog::error("control socket {}: {}; sinkholectl will not reach this server",
                    cfg.control.socket, error);
  }
  // Retired snapshots are released here, once no worker holds them, never on a worker.
  uv_timer_init(&loop, &control.collect);
  // The same tick clears the protected-user bucket that comes next (workers never clear).
  control.collect.data = &control;
  uv_timer_start(
      &control.collect,
      [](uv_timer_t* t) {
        auto* c = static_cast<Control*>(t->data);
        const size_t before = c->holder->retired();
        // A freed snapshot leaves tens of MB in malloc's free lists: give them back.
        if (c->holder->collect() < before) malloc_trim(0);
        if (c->state->block_stats)
          c->state->block_stats->protected_users().rotate(static_cast<int64_t>(std::time(nullptr)));
      },
      1000, 1000);
  for (auto [h, sig] : {std::pair{&control.term, SIGTERM}, std::pair{&control.intr, SIGINT},
                        std::pair{&control.hup, SIGHUP}, std::pair{&control.usr1, SIGUSR1}}) {
    uv_signal_init(&loop, h);
    h->data = &control;
    uv_signal_start(h, on_signal, sig);
  }

  watchdog.start();  // before the threads: it turns the workers' heartbeats on
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });

  std::string listen;
  for (const auto& a : cfg.server.listen) listen += (listen.empty() ? "" : ", ") + a.to_string();
  std::string ups;
  for (const auto& a : cfg.upstream.servers) ups += (ups.empty() ? "" : ", ") + a.to_string();
  spdlog::info("sinkholed ready: {} worker(s), listening on {}, forwarding to {}{}", n_workers,
               listen, ups, cfg.upstream.from_resolv_conf ? " (from resolv.conf)" : "");
  notify.ready(fmt::format("serving on {} with {} worker(s); policy generation {} in service",
                           listen, n_workers, holder.generation()));

  uv_run(&loop, UV_RUN_DEFAULT);
  for (auto& t : threads) t.join();
  dnstap_writer.reset();  // flushes the queues to the collector, then closes the stream
  http.stop();            // it reads the workers' counters: stop it before they go
  uv_loop_close(&loop);
  log_stats(control);
  spdlog::info("stopped");
  return 0;
}

}  // namespace sinkhole::control
