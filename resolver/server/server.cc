// SPDX-License-Identifier: MIT
#include "resolver/server/server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>
#include <vector>

#include "policy/snapshot_builder.h"
#include "policy/snapshot_holder.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/server/worker.h"

namespace sinkhole::server {

namespace {

// Opens one listening socket. SO_REUSEPORT lets every worker bind its own socket to the
// same address, and the kernel spreads clients across them.
int open_socket(const config::SocketAddress& addr, int type, std::string& error) {
  const int fd = ::socket(addr.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (type == SOCK_DGRAM) {
    // Bursts from many subscribers must not overflow the default ~200 KiB buffer.
    const int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  if (::bind(fd, addr.sa(), addr.sa_len()) != 0) {
    error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Control {
  std::vector<std::unique_ptr<Worker>>* workers;
  const config::Config* cfg;
  policy::SnapshotHolder* holder;
  uv_loop_t* loop;
  uv_signal_t term, intr, hup, usr1;
  uv_timer_t collect;
  bool stopping = false;
  // Reload state (control thread only).
  bool reloading = false;
  bool reload_again = false;
  uint64_t next_generation = 2;
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
  double last_reload_seconds = 0;
  int64_t last_reload_unix = 0;
  std::string last_reload_error;
};

void log_stats(const Control& c) {
  std::vector<const metrics::WorkerCounters*> all;
  for (const auto& w : *c.workers) all.push_back(&w->counters());
  auto values = metrics::sum(all);
  values.emplace_back("reloads", c.reloads);
  values.emplace_back("reload_failures", c.reload_failures);
  values.emplace_back("snapshot_generation", c.holder->generation());
  spdlog::info("stats {}", metrics::to_json(values));
}

// One reload: the build runs on libuv's thread pool, publication on the control thread.
struct ReloadJob {
  uv_work_t req;
  Control* control;
  uint64_t generation;
  policy::BuildResult result;
};

void start_reload(Control& c);

void on_reload_built(uv_work_t* req, int) {
  std::unique_ptr<ReloadJob> job(static_cast<ReloadJob*>(req->data));
  Control& c = *job->control;
  c.reloading = false;
  auto& r = job->result;
  for (size_t i = 0; i < r.warnings.size() && i < 20; ++i)
    spdlog::warn("reload: {}", r.warnings[i]);
  if (r.warnings.size() > 20) spdlog::warn("reload: {} more warnings", r.warnings.size() - 20);
  if (!r.snapshot) {
    ++c.reload_failures;
    c.last_reload_error = r.errors.empty() ? "unknown error" : r.errors.front();
    for (const auto& e : r.errors) spdlog::error("reload failed: {}", e);
    spdlog::error("reload failed: keeping generation {} in service", c.holder->generation());
  } else if (!c.stopping) {
    c.holder->publish(std::move(r.snapshot));
    ++c.reloads;
    c.last_reload_seconds = r.seconds;
    c.last_reload_unix = static_cast<int64_t>(std::time(nullptr));
    c.last_reload_error.clear();
    spdlog::info("reload: generation {} in service: {} ({:.3f} s)", job->generation, r.summary,
                 r.seconds);
  }
  if (c.reload_again && !c.stopping) {
    c.reload_again = false;
    start_reload(c);
  }
}

void start_reload(Control& c) {
  if (c.reloading) {  // a burst of signals or edits: one more build after this one
    c.reload_again = true;
    return;
  }
  c.reloading = true;
  auto* job = new ReloadJob{};
  job->control = &c;
  job->generation = c.next_generation++;
  job->req.data = job;
  uv_queue_work(
      c.loop, &job->req,
      [](uv_work_t* req) {
        auto* j = static_cast<ReloadJob*>(req->data);
        j->result = policy::build_snapshot_from_file(j->control->cfg->path, j->generation);
      },
      on_reload_built);
}

void on_signal(uv_signal_t* s, int signum) {
  auto* c = static_cast<Control*>(s->data);
  if (signum == SIGUSR1) {
    log_stats(*c);
    return;
  }
  if (signum == SIGHUP) {
    spdlog::info("SIGHUP: reloading {}", c->cfg->path);
    start_reload(*c);
    return;
  }
  if (c->stopping) return;
  c->stopping = true;
  spdlog::info("{}: stopping; answering queries in flight",
               signum == SIGTERM ? "SIGTERM" : "SIGINT");
  for (auto& w : *c->workers) w->request_stop();
  for (uv_signal_t* h : {&c->term, &c->intr, &c->hup, &c->usr1})
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  uv_timer_stop(&c->collect);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->collect), nullptr);
}

}  // namespace

int run_server(const config::Config& cfg, std::shared_ptr<const policy::PolicySnapshot> policies) {
  policy::SnapshotHolder holder;
  holder.publish(std::move(policies));

  const unsigned n_workers =
      cfg.server.workers ? cfg.server.workers : std::max(1u, std::thread::hardware_concurrency());

  std::vector<ListenFds> fds(n_workers);
  for (unsigned w = 0; w < n_workers; ++w) {
    for (const auto& addr : cfg.server.listen) {
      for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
        std::string error;
        const int fd = open_socket(addr, type, error);
        if (fd < 0) {
          spdlog::critical("cannot listen on {} ({}): {}", addr.to_string(),
                           type == SOCK_DGRAM ? "udp" : "tcp", error);
          for (auto& f : fds) {
            for (int x : f.udp) ::close(x);
            for (int x : f.tcp) ::close(x);
          }
          return 1;
        }
        (type == SOCK_DGRAM ? fds[w].udp : fds[w].tcp).push_back(fd);
      }
    }
  }

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned w = 0; w < n_workers; ++w)
    workers.push_back(std::make_unique<Worker>(cfg, w, std::move(fds[w]), holder));

  uv_loop_t loop;
  uv_loop_init(&loop);
  Control control;
  control.workers = &workers;
  control.cfg = &cfg;
  control.holder = &holder;
  control.loop = &loop;
  control.next_generation = holder.generation() + 1;
  // Retired snapshots are released here, once no worker holds them, never on a worker.
  uv_timer_init(&loop, &control.collect);
  control.collect.data = &holder;
  uv_timer_start(
      &control.collect,
      [](uv_timer_t* t) { static_cast<policy::SnapshotHolder*>(t->data)->collect(); }, 1000, 1000);
  for (auto [h, sig] : {std::pair{&control.term, SIGTERM}, std::pair{&control.intr, SIGINT},
                        std::pair{&control.hup, SIGHUP}, std::pair{&control.usr1, SIGUSR1}}) {
    uv_signal_init(&loop, h);
    h->data = &control;
    uv_signal_start(h, on_signal, sig);
  }

  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });

  std::string listen;
  for (const auto& a : cfg.server.listen) listen += (listen.empty() ? "" : ", ") + a.to_string();
  std::string ups;
  for (const auto& a : cfg.upstream.servers) ups += (ups.empty() ? "" : ", ") + a.to_string();
  spdlog::info("sinkholed ready: {} worker(s), listening on {}, forwarding to {}{}", n_workers,
               listen, ups, cfg.upstream.from_resolv_conf ? " (from resolv.conf)" : "");

  uv_run(&loop, UV_RUN_DEFAULT);
  for (auto& t : threads) t.join();
  uv_loop_close(&loop);
  log_stats(control);
  spdlog::info("stopped");
  return 0;
}

}  // namespace sinkhole::server
