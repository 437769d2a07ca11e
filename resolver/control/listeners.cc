// SPDX-License-Identifier: MIT
#include "resolver/control/listeners.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

namespace sinkhole::control {

namespace {

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

}  // namespace

unsigned worker_count(const config::Config& cfg) {
  return cfg.server.workers ? cfg.server.workers
                            : std::max(1u, std::thread::hardware_concurrency());
}

std::optional<std::vector<pipeline::ListenFds>> bind_listeners(const config::Config& cfg) {
  std::vector<pipeline::ListenFds> fds(worker_count(cfg));
  for (auto& worker : fds) {
    for (const auto& addr : cfg.server.listen) {
      for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
        std::string error;
        const int fd = open_socket(addr, type, error);
        if (fd < 0) {
          spdlog::critical("cannot listen on {} ({}): {}", addr.to_string(),
                           type == SOCK_DGRAM ? "udp" : "tcp", error);
          close_listeners(fds);
          return std::nullopt;
        }
        (type == SOCK_DGRAM ? worker.udp : worker.tcp).push_back(fd);
      }
    }
  }
  return fds;
}

int bind_metrics_listener(const config::SocketAddress& addr) {
  const int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    spdlog::critical("metrics listener {}: {}", addr.to_string(), std::strerror(errno));
    return -1;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, addr.sa(), addr.sa_len()) != 0 || ::listen(fd, 64) != 0) {
    spdlog::critical("cannot listen on {} (metrics): {}", addr.to_string(), std::strerror(errno));
    ::close(fd);
    return -1;
  }
  return fd;
}

void close_listeners(std::vector<pipeline::ListenFds>& fds) {
  for (auto& f : fds) {
    for (int x : f.udp) ::close(x);
    for (int x : f.tcp) ::close(x);
    f.udp.clear();
    f.tcp.clear();
  }
}

}  // namespace sinkhole::control
