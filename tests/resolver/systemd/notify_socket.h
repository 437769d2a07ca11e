// SPDX-License-Identifier: MIT
// NotifySocket: a bound AF_UNIX datagram socket in a fresh temp dir, named in NOTIFY_SOCKET
// while alive, so a test reads what a service manager would receive (as systemd's own
// socket does). Shared by the systemd test files. Test thread only.
#pragma once

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace sinkhole::test {

class NotifySocket {
 public:
  NotifySocket() {
    char tmpl[] = "/tmp/sinkhole-notify-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/notify";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path_.c_str(), path_.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // The next datagram, or nothing when none is queued (sd_notify sends synchronously).
  std::optional<std::string> next() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      CHECK(errno == EAGAIN);
      return std::nullopt;
    }
    return std::string(buf, static_cast<size_t>(n));
  }
  // How many WATCHDOG=1 datagrams are queued (and drains the queue).
  int pings() {
    int n = 0;
    while (auto m = next()) n += *m == "WATCHDOG=1";
    return n;
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

}  // namespace sinkhole::test
