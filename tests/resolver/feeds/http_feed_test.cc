// SPDX-License-Identifier: MIT
// The HTTP feed on a real loop: a 200 becomes the list's candidate (with its validators and
// version in the meta) and is offered; a stop with a download in flight returns at once,
// and the abandoned download neither offers nor writes afterwards.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "policy/list_copies.h"
#include "resolver/feeds/feed.h"
#include "resolver/feeds/http_validators.h"
#include "tests/policy/temp_dir.h"
#include "tests/resolver/feeds/one_shot_server.h"
#include "util/read_file.h"

namespace feeds = sinkhole::feeds;
namespace policy = sinkhole::policy;
using sinkhole::test::OneShotServer;

namespace {

struct Fixture {
  sinkhole::test::TempDir tmp;
  uv_loop_t loop{};
  feeds::ListStore store{tmp.dir().string()};
  feeds::FeedStatus status;
  feeds::AuditLog audit{""};
  feeds::FeedContext ctx;
  std::vector<std::string> offers;
  std::vector<bool> staged;  // each offer's `stage`
  Fixture() {
    uv_loop_init(&loop);
    ctx.loop = &loop;
    ctx.store = &store;
    ctx.status = &status;
    ctx.audit = &audit;
    ctx.offer = [this](const std::string& l, bool stage) {
      offers.push_back(l);
      staged.push_back(stage);
      uv_stop(&loop);
    };
  }
  ~Fixture() {
    uv_run(&loop, UV_RUN_NOWAIT);  // the feed's closed handles
    uv_loop_close(&loop);
  }
  policy::ListData list(const std::string& url) {
    policy::ListData l;
    l.name = "gov";
    l.source.kind = policy::ListSource::Kind::kHttp;
    l.source.http.url = url;
    l.source.http.refresh_seconds = 3600;
    l.source.http.timeout_seconds = 10;
    return l;
  }
  // Runs the loop until the feed offers or `ms` pass.
  void run_for(int ms) {
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    uv_timer_start(
        &t, [](uv_timer_t* h) { uv_stop(h->loop); }, static_cast<uint64_t>(ms), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
};

}  // namespace

TEST_CASE("a 200 becomes the candidate with its validators, and is offered") {
  Fixture f;
  const std::string text = "a.example\nb.example\n";
  OneShotServer s([&](const std::string&) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(text.size()) +
           "\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n" + text;
  });
  auto feed = feeds::make_http_feed(f.list(s.url()), f.ctx);
  feed->start();
  f.run_for(10'000);
  REQUIRE(f.offers == std::vector<std::string>{"gov"});
  const auto m = f.store.meta("gov", policy::kCopyCandidate);
  REQUIRE(m);
  CHECK(m->source == "http");
  CHECK(m->who == "feed");
  CHECK(m->origin == s.url());
  CHECK(m->etag == "\"v1\"");
  CHECK(m->version == "etag \"v1\"");
  CHECK(m->hash == feeds::content_hash(text));
  CHECK(m->seen_unix_ms > 0);
  CHECK(*sinkhole::util::read_file(f.store.path("gov", policy::kCopyCandidate), nullptr) == text);
  const auto st = f.status.get("gov");
  REQUIRE(st);
  CHECK(st->fetch_downloaded == 1u);
  CHECK(st->last_attempt_ms > 0);
  feed->stop();
  feed.reset();
}

TEST_CASE("a stop with a download in flight returns at once; nothing is offered or written") {
  Fixture f;
  OneShotServer s([](const std::string&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return std::string(
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
        "a.example\n");
  });
  auto feed = feeds::make_http_feed(f.list(s.url()), f.ctx);
  feed->start();
  f.run_for(200);  // the request is out, the answer is not
  const auto t0 = std::chrono::steady_clock::now();
  feed->stop();
  feed.reset();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
  f.run_for(2500);  // past the server's answer: the abandoned download stays silent
  CHECK(f.offers.empty());
  CHECK_FALSE(f.store.exists("gov", policy::kCopyCandidate));
}

TEST_CASE("list stage --from-feed: the fetch in flight offers its new content to stage") {
  Fixture f;
  const std::string text = "a.example\nb.example\n";
  OneShotServer s([&](const std::string&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(text.size()) +
           "\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n" + text;
  });
  auto feed = feeds::make_http_feed(f.list(s.url()), f.ctx);  // updates: enforce
  feed->start();
  std::vector<std::string> nothing;
  CHECK(feed->fetch_to_stage([&](const std::string& why) { nothing.push_back(why); }));
  f.run_for(10'000);
  REQUIRE(f.offers == std::vector<std::string>{"gov"});
  CHECK(f.staged == std::vector<bool>{true});
  CHECK(nothing.empty());  // the build's outcome answers, through the feed manager
  feed->stop();
  feed.reset();
}

TEST_CASE("updates: stage — asked with the staged copy's validators; a 304 stages nothing") {
  Fixture f;
  feeds::CopyMeta serving;
  serving.source = "http";
  serving.who = "feed";
  serving.etag = "\"v1\"";
  serving.hash = feeds::content_hash("a.example\n");
  REQUIRE(f.store.write("gov", policy::kCopyCurrent, "a.example\n", serving).empty());
  feeds::CopyMeta staged = serving;
  staged.etag = "\"v2\"";
  staged.hash = feeds::content_hash("a.example\nb.example\n");
  REQUIRE(f.store.write("gov", policy::kCopyStaged, "a.example\nb.example\n", staged).empty());
  OneShotServer s([&](const std::string&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return std::string("HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n");
  });
  auto l = f.list(s.url());
  l.source.updates = policy::ListSource::Updates::kStage;
  auto feed = feeds::make_http_feed(l, f.ctx);
  feed->start();
  std::vector<std::string> nothing;
  CHECK(feed->fetch_to_stage([&](const std::string& why) {
    nothing.push_back(why);
    uv_stop(&f.loop);
  }));
  f.run_for(10'000);
  CHECK(s.request().find("If-None-Match: \"v2\"") != std::string::npos);
  CHECK(f.offers.empty());
  REQUIRE(nothing.size() == 1);
  CHECK(nothing[0].find("nothing newer") != std::string::npos);
  CHECK(nothing[0].find("staged") != std::string::npos);
  feed->stop();
  feed.reset();
}
