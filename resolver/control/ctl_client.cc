// SPDX-License-Identifier: MIT
#include "resolver/control/ctl_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace sinkhole::control {

namespace {

using Clock = std::chrono::steady_clock;

// Closes the descriptor on every return path.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Rounded up: poll() must not return before the deadline.
int ms_left(Clock::time_point deadline) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
  return us > 0 ? static_cast<int>((us + 999) / 1000) : 0;
}

// Waits for `events` on `fd` until `deadline`; false on timeout or a poll error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, ms_left(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

AskResult fail(AskResult::Outcome outcome, std::string error) {
  AskResult r;
  r.outcome = outcome;
  r.error = std::move(error);
  return r;
}

}  // namespace

AskResult ask(const std::string& path, const std::string& request,
              std::chrono::milliseconds timeout) {
  using O = AskResult::Outcome;
  const auto deadline = Clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return fail(O::kUnreachable, path.empty() ? "no socket path" : "socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (s.fd < 0) return fail(O::kUnreachable, std::strerror(errno));

  // A Unix stream connect does not wait for accept(): it completes, or fails at once, or
  // (listen backlog full: a server too busy to accept) says EAGAIN — retried until the
  // deadline, as a blocking connect would wait without one.
  for (;;) {
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    if (errno == EINTR) continue;
    if (errno == EINPROGRESS) {
      if (!wait_for(s.fd, POLLOUT, deadline))
        return fail(O::kTimeout, "the connection was not accepted");
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return fail(O::kUnreachable, std::strerror(err));
      break;
    }
    if (errno != EAGAIN) return fail(O::kUnreachable, std::strerror(errno));
    if (ms_left(deadline) == 0)
      return fail(O::kTimeout, "the connection was not accepted (listen backlog full)");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  const std::string line = request + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(s.fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!wait_for(s.fd, POLLOUT, deadline))
        return fail(O::kTimeout, "the server did not read the request");
      continue;
    }
    return fail(O::kUnreachable, std::strerror(errno));
  }

  AskResult r;
  r.outcome = O::kReply;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n > 0) {
      r.reply.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      if (!wait_for(s.fd, POLLIN, deadline))
        return fail(O::kTimeout, r.reply.empty() ? "no reply" : "the reply did not end");
      continue;
    }
    return fail(O::kUnreachable, std::strerror(errno));
  }
  if (r.reply.empty())
    return fail(O::kUnreachable, "the server closed the connection without a reply");
  return r;
}

}  // namespace sinkhole::control
