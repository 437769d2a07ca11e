// SPDX-License-Identifier: MIT
// A one-request HTTP server on 127.0.0.1 (a thread) for the HTTP source tests, and the
// loopback listening socket under it (the transfer tests' silent primary too).
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

namespace sinkhole::test {

// A TCP socket listening on 127.0.0.1:<random>; `a` gets its address. Connections complete
// in the backlog whether or not anybody accepts them.
inline int listen_on_loopback(sockaddr_in& a) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  a = sockaddr_in{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return fd;
}

// Accepts one connection on 127.0.0.1:<random>, records the request head and answers with
// `respond(request)` (which may also stall), then closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::function<std::string(const std::string&)> respond)
      : respond_(std::move(respond)) {
    sockaddr_in a{};
    fd_ = listen_on_loopback(a);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path = "/list.txt") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  const std::string& request() const { return request_; }  // after the download

 private:
  void serve() {
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    char buf[4096];
    while (request_.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      request_.append(buf, static_cast<size_t>(n));
    }
    const std::string out = respond_(request_);
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::send(c, out.data() + done, out.size() - done, MSG_NOSIGNAL);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(c);
  }
  std::function<std::string(const std::string&)> respond_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string request_;
};

}  // namespace sinkhole::test
