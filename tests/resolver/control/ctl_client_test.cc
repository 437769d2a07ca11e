// SPDX-License-Identifier: MIT
// sinkholectl's socket client: a reply is read to the end; no socket, or a socket file
// nobody listens on, is "unreachable" at once; a server that accepts and never answers,
// or answers half a line and stalls, is a timeout that ends when the timeout says.
#include "resolver/control/ctl_client.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

using sinkhole::control::ask;
using sinkhole::control::AskResult;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A listening Unix socket in a fresh directory; `listening` false: bound, never listened on.
struct Listener {
  std::string dir, path;
  int fd = -1;
  explicit Listener(bool listening = true) {
    char tmpl[] = "/tmp/ctl-client-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    path = dir + "/control.sock";
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    if (listening) REQUIRE(::listen(fd, 8) == 0);
  }
  ~Listener() {
    ::close(fd);
    std::remove(path.c_str());
    ::rmdir(dir.c_str());
  }
};

}  // namespace

TEST_CASE("ask: the whole reply, read until the server closes") {
  Listener l;
  std::string request;
  std::thread server([&] {
    const int c = ::accept(l.fd, nullptr, nullptr);
    char buf[256];
    const ssize_t n = ::read(c, buf, sizeof buf);
    if (n > 0) request.assign(buf, static_cast<size_t>(n));
    const std::string reply = "{\"ok\":true,\"text\":\"" + std::string(10000, 'x') + "\"}\n";
    (void)!::write(c, reply.data(), reply.size());
    ::close(c);
  });
  const AskResult r = ask(l.path, "{\"command\":\"status\"}", 5s);
  server.join();
  CHECK(r.outcome == AskResult::Outcome::kReply);
  CHECK(request == "{\"command\":\"status\"}\n");
  CHECK(r.reply.size() == 10000 + 22);  // {"ok":true,"text":"…"} and the line end
}

TEST_CASE("ask: no socket, or nobody listening, is unreachable at once") {
  const auto t0 = Clock::now();
  AskResult r = ask("/nonexistent/dir/control.sock", "{}", 5s);
  CHECK(r.outcome == AskResult::Outcome::kUnreachable);
  CHECK(r.error == std::strerror(ENOENT));
  Listener stale(/*listening=*/false);  // a socket file left by a stopped daemon
  r = ask(stale.path, "{}", 5s);
  CHECK(r.outcome == AskResult::Outcome::kUnreachable);
  CHECK(r.error == std::strerror(ECONNREFUSED));
  CHECK(Clock::now() - t0 < 4s);
  r = ask(std::string(200, 'x'), "{}", 5s);
  CHECK(r.outcome == AskResult::Outcome::kUnreachable);
  CHECK(r.error == "socket path too long");
}

TEST_CASE("ask: a server that accepts and never answers is a timeout, in time") {
  Listener l;  // never accepts: the kernel completes the connection, nobody reads
  auto t0 = Clock::now();
  AskResult r = ask(l.path, "{\"command\":\"status\"}", 300ms);
  auto took = Clock::now() - t0;
  CHECK(r.outcome == AskResult::Outcome::kTimeout);
  CHECK(r.error == "no reply");
  CHECK(took >= 300ms);
  CHECK(took < 3s);

  // Half a reply, then silence: still a timeout, not a truncated reply.
  Listener half;
  std::thread server([&] {
    const int c = ::accept(half.fd, nullptr, nullptr);
    ::send(c, "{\"ok\":", 6, MSG_NOSIGNAL);
    std::this_thread::sleep_for(800ms);
    ::close(c);
  });
  t0 = Clock::now();
  r = ask(half.path, "{\"command\":\"status\"}", 300ms);
  took = Clock::now() - t0;
  server.join();
  CHECK(r.outcome == AskResult::Outcome::kTimeout);
  CHECK(r.error == "the reply did not end");
  CHECK(took < 3s);
}
