// SPDX-License-Identifier: MIT
// One bounded download against a tiny HTTP server on loopback (a thread here): the body and
// validators of a 200, the conditional headers sent, 304, an HTTP error, a body past
// max_bytes without (or with a lying) Content-Length, a protocol other than http(s), and
// cancellation of a stalled transfer.
#include "resolver/feeds/http_fetch.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/resolver/feeds/one_shot_server.h"

namespace feeds = sinkhole::feeds;
using feeds::HttpGot;
using sinkhole::test::OneShotServer;

namespace {

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
