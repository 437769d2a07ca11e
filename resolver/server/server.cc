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
#include <memory>
#include <thread>
#include <vector>

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
  uv_signal_t term, intr, hup, usr1;
  bool stopping = false;
};

void log_stats(const std::vector<std::unique_ptr<Worker>>& workers) {
  std::vector<const metrics::WorkerCounters*> all;
  for (const auto& w : workers) all.push_back(&w->counters());
  spdlog::info("stats {}", metrics::to_json(metrics::sum(all)));
}

void on_signal(uv_signal_t* s, int signum) {
  auto* c = static_cast<Control*>(s->data);
  if (signum == SIGUSR1) {
    log_stats(*c->workers);
    return;
  }
  if (signum == SIGHUP) {
    spdlog::info("SIGHUP: nothing to reload yet (configuration reload arrives with policies)");
    return;
  }
  if (c->stopping) return;
  c->stopping = true;
  spdlog::info("{}: stopping; answering queries in flight",
               signum == SIGTERM ? "SIGTERM" : "SIGINT");
  for (auto& w : *c->workers) w->request_stop();
  for (uv_signal_t* h : {&c->term, &c->intr, &c->hup, &c->usr1})
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
}

}  // namespace

int run_server(const config::Config& cfg) {
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
    workers.push_back(std::make_unique<Worker>(cfg, w, std::move(fds[w])));

  uv_loop_t loop;
  uv_loop_init(&loop);
  Control control;
  control.workers = &workers;
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
  log_stats(workers);
  spdlog::info("stopped");
  return 0;
}

}  // namespace sinkhole::server
