// SPDX-License-Identifier: MIT
// One bounded download against a tiny HTTP server on loopback (a thread here): the body and
// validators of a 200, the conditional headers sent, 304, an HTTP error, a body past
// max_bytes without (or with a lying) Content-Length, a protocol other than http(s), and
// cancellation of a stalled transfer.
#include "resolver/feeds/http_fetch.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace feeds = sinkhole::feeds;
using feeds::HttpGot;

namespace {

// Accepts one connection on 127.0.0.1:<random>, records the request head and answers with
// `respond(request)` (which may also stall), then closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::function<std::string(const std::string&)> respond)
      : respond_(std::move(respond)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
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

feeds::HttpGet get(const std::string& url, size_t max_bytes = 1 << 20) {
  feeds::http_global_init();
  feeds::HttpGet g;
  g.url = url;
  g.max_bytes = max_bytes;
  g.timeout_seconds = 10;
  return g;
}

std::string ok(const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra + "\r\n" + body;
}

}  // namespace

TEST_CASE("a 200: the body, its validators and hash; the request carries ours") {
  OneShotServer s([](const std::string&) {
    return ok("a.example\nb.example\n",
              "ETag: \"v2\"\r\nLast-Modified: Sun, 06 Dec 2026 04:00:00 GMT\r\n");
  });
  auto g = get(s.url());
  g.validators = {"\"v1\"", "Sat, 05 Dec 2026 04:00:00 GMT", "ignored"};
  const std::atomic<bool> cancel{false};
  const HttpGot got = feeds::http_get(g, cancel);
  CHECK(got.outcome == HttpGot::Outcome::kContent);
  CHECK(got.status == 200);
  CHECK(got.body == "a.example\nb.example\n");
  CHECK(got.validators.etag == "\"v2\"");
  CHECK(got.validators.last_modified == "Sun, 06 Dec 2026 04:00:00 GMT");
  CHECK(got.validators.hash == feeds::content_hash(got.body));
  CHECK(s.request().find("If-None-Match: \"v1\"\r\n") != std::string::npos);
  CHECK(s.request().find("If-Modified-Since: Sat, 05 Dec 2026 04:00:00 GMT\r\n") !=
        std::string::npos);
  CHECK(s.request().find("User-Agent: sinkholed/") != std::string::npos);
}

TEST_CASE("a 304 is not modified; an HTTP error fails with its status and keeps no body") {
  {
    OneShotServer s([](const std::string&) {
      return std::string("HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n");
    });
    const std::atomic<bool> cancel{false};
    const HttpGot got = feeds::http_get(get(s.url()), cancel);
    CHECK(got.outcome == HttpGot::Outcome::kNotModified);
    CHECK(got.status == 304);
  }
  {
    OneShotServer s([](const std::string&) {
      const std::string page = "<html><body>502 Bad Gateway</body></html>";
      return "HTTP/1.1 502 Bad Gateway\r\nContent-Length: " + std::to_string(page.size()) +
             "\r\nConnection: close\r\n\r\n" + page;
    });
    const std::atomic<bool> cancel{false};
    const HttpGot got = feeds::http_get(get(s.url()), cancel);
    CHECK(got.outcome == HttpGot::Outcome::kFailed);
    CHECK(got.error == "HTTP 502");
    CHECK(got.body.empty());
  }
}

TEST_CASE("max_bytes: a body without Content-Length, or with a lying one, stops at the limit") {
  const std::string big(64 * 1024, 'x');
  {
    OneShotServer s([&](const std::string&) {
      return "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + big;  // ends at close
    });
    const std::atomic<bool> cancel{false};
    const HttpGot got = feeds::http_get(get(s.url(), 1000), cancel);
    CHECK(got.outcome == HttpGot::Outcome::kFailed);
    CHECK(got.too_large);
    CHECK(got.body.empty());
    CHECK(got.error.find("max_bytes (1000 bytes)") != std::string::npos);
  }
  {
    OneShotServer s([&](const std::string&) { return ok(big); });  // honest and too big
    const std::atomic<bool> cancel{false};
    const HttpGot got = feeds::http_get(get(s.url(), 1000), cancel);
    CHECK(got.too_large);
  }
  {
    OneShotServer s([&](const std::string&) { return ok(big); });  // exactly the limit
    const std::atomic<bool> cancel{false};
    const HttpGot got = feeds::http_get(get(s.url(), big.size()), cancel);
    CHECK(got.outcome == HttpGot::Outcome::kContent);
    CHECK(got.body.size() == big.size());
  }
}

TEST_CASE("only http and https") {
  const std::atomic<bool> cancel{false};
  const HttpGot got = feeds::http_get(get("file:///etc/hostname"), cancel);
  CHECK(got.outcome == HttpGot::Outcome::kFailed);
  CHECK_FALSE(got.error.empty());
}

TEST_CASE("a stalled transfer is cancelled from another thread within about a second") {
  OneShotServer s([](const std::string&) {
    std::this_thread::sleep_for(std::chrono::seconds(4));  // headers never come in time
    return std::string();
  });
  std::atomic<bool> cancel{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  const HttpGot got = feeds::http_get(get(s.url()), cancel);
  const auto took = std::chrono::steady_clock::now() - t0;
  stopper.join();
  CHECK(got.outcome == HttpGot::Outcome::kCancelled);
  CHECK(took < std::chrono::milliseconds(3000));
}
