// SPDX-License-Identifier: MIT
// The feed manager's bridge between a candidate copy and a build: offered → handed to the
// next build → promoted (published), deleted (refused) or kept (the build failed elsewhere).
#include "resolver/feeds/feed_manager.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "policy/list_copies.h"
#include "tests/policy/temp_dir.h"
#include "util/read_file.h"

namespace feeds = sinkhole::feeds;
namespace policy = sinkhole::policy;

namespace {

struct Fixture {
  sinkhole::test::TempDir tmp;
  uv_loop_t loop{};
  std::unique_ptr<feeds::FeedManager> manager;
  int builds = 0;
  policy::PolicySnapshot snap;
  Fixture() {
    uv_loop_init(&loop);
    manager =
        std::make_unique<feeds::FeedManager>(&loop, tmp.dir().string(), tmp.path("audit.log"));
    manager->request_build = [this] { ++builds; };
    policy::ListData l;
    l.name = "mic";
    l.stats.entries = 2;
    snap.lists.push_back(std::move(l));
  }
  ~Fixture() {
    manager.reset();
    uv_run(&loop, UV_RUN_NOWAIT);  // the closed NOTIFY async handle
    uv_loop_close(&loop);
  }
  void offer(const std::string& version, bool stage = false) {
    feeds::CopyMeta m;
    m.source = "rpz";
    m.who = "feed";
    m.version = version;
    m.seen_unix_ms = feeds::unix_now_ms() - 250;
    REQUIRE(manager->store().write("mic", policy::kCopyCandidate, "a.example\n", m).empty());
    manager->offer("mic", true, stage);
  }
  std::string audit() const {
    return sinkhole::util::read_file(tmp.path("audit.log"), nullptr).value_or("");
  }
};

}  // namespace

TEST_CASE("a published candidate becomes the copy serving, with its status and audit line") {
  Fixture f;
  f.offer("serial 2");
  CHECK(f.builds == 1);
  const auto c = f.manager->candidates();
  REQUIRE(c.size() == 1);
  CHECK(c.at("mic") == f.manager->store().path("mic", policy::kCopyCandidate));
  f.manager->build_finished(true, {"mic"}, {}, f.snap);
  CHECK(f.manager->candidates().empty());
  CHECK(f.manager->store().meta("mic", policy::kCopyCurrent)->version == "serial 2");
  const auto s = f.manager->status().get("mic");
  REQUIRE(s);
  CHECK(s->version == "serial 2");
  CHECK(s->entries == 2u);
  CHECK(s->last_error.empty());
  CHECK(s->enforced_ms - s->seen_ms >= 250);
  CHECK(f.audit().find("\"event\":\"installed\"") != std::string::npos);
}

TEST_CASE("a refused candidate is deleted; the copy serving stays") {
  Fixture f;
  f.offer("serial 2");
  f.manager->build_finished(true, {"mic"}, {}, f.snap);
  f.offer("serial 3");
  f.manager->build_finished(false, {"mic"}, {{"mic", "empty", "list mic: 0 valid entries"}},
                            f.snap);
  CHECK(f.manager->candidates().empty());
  CHECK_FALSE(f.manager->store().exists("mic", policy::kCopyCandidate));
  CHECK(f.manager->store().meta("mic", policy::kCopyCurrent)->version == "serial 2");
  const auto s = f.manager->status().get("mic");
  CHECK(s->last_error == "list mic: 0 valid entries");
  CHECK(s->refused == 1u);
  CHECK(f.audit().find("\"event\":\"refused\"") != std::string::npos);
}

TEST_CASE("a build that failed elsewhere keeps the candidate for the next one") {
  Fixture f;
  f.offer("serial 2");
  f.manager->build_finished(false, {"mic"}, {}, f.snap);
  CHECK(f.manager->candidates().size() == 1);
  CHECK(f.manager->status().get("mic")->state == "waiting");
  f.manager->build_finished(true, {"mic"}, {}, f.snap);
  CHECK(f.manager->store().exists("mic", policy::kCopyCurrent));
}

TEST_CASE("a refusal that failed the build asks again for the candidates that waited") {
  Fixture f;
  f.offer("serial 2");
  feeds::CopyMeta m;
  m.source = "http";
  m.who = "feed";
  m.version = "etag \"x\"";
  REQUIRE(f.manager->store().write("gov", policy::kCopyCandidate, "", m).empty());
  f.manager->offer("gov");
  const int before = f.builds;
  // gov's empty copy was refused, which failed the build mic's candidate was in too.
  f.manager->build_finished(false, {"mic", "gov"}, {{"gov", "empty", "list gov: empty"}}, f.snap);
  CHECK(f.builds == before + 1);
  const auto c = f.manager->candidates();
  CHECK(c.size() == 1);
  CHECK(c.count("mic") == 1);
  // A build that failed for another reason (no refusal) is not retried in a loop.
  f.manager->build_finished(false, {"mic"}, {}, f.snap);
  CHECK(f.builds == before + 1);
}

TEST_CASE("a refused file list does not make the feed copies waiting rebuild in a loop") {
  Fixture f;
  f.offer("serial 2");
  const int before = f.builds;
  // The file list "casinos" (not a feed copy, so not in `read`) was refused: the next
  // build would read the same file and fail the same way, so no build is asked for.
  f.manager->build_finished(false, {"mic"}, {{"casinos", "empty", "list casinos: empty"}}, f.snap);
  CHECK(f.builds == before);
  CHECK(f.manager->candidates().count("mic") == 1);  // still waiting for the next reload
  CHECK(f.manager->status().get("mic")->state == "waiting");
}

namespace {

// A feed that does what the manager asks and keeps its context, so that a test can make it
// offer after it was replaced; `work` runs on a feed work thread until cancelled.
struct FakeFeed final : feeds::Feed {
  explicit FakeFeed(feeds::FeedContext& c, std::shared_ptr<std::atomic<int>> cancelled)
      : ctx(c), cancelled_(std::move(cancelled)) {}
  void start() override {
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    feeds::start_feed_work(ctx, cancel_, [c = cancel_, n = cancelled_] {
      while (!c->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++*n;
    });
  }
  void stop() override {}  // leaves its thread to the manager's stop()
  void candidate_done(bool, const std::string&) override {}
  feeds::FeedContext& ctx;
  std::shared_ptr<std::atomic<int>> cancelled_;
  feeds::FeedThreads::Cancel cancel_;
};

policy::PolicySnapshot feed_snapshot(policy::ListSource::Kind kind) {
  policy::PolicySnapshot snap;
  policy::ListData l;
  l.name = "mic";
  l.source.kind = kind;
  l.source.rpz.zone = "mic.rpz";
  l.source.http.url = "http://127.0.0.1:9/mic.txt";
  snap.lists.push_back(std::move(l));
  return snap;
}

}  // namespace

TEST_CASE("a feed replaced at a reload offers nothing, even late; the new feed's offers count") {
  Fixture f;
  auto cancelled = std::make_shared<std::atomic<int>>(0);
  std::vector<feeds::FeedContext> contexts;  // copies: what each feed holds
  f.manager->make_feed = [&](const policy::ListData&, feeds::FeedContext& ctx) {
    contexts.push_back(ctx);
    return std::make_unique<FakeFeed>(ctx, cancelled);
  };
  f.manager->reconcile(feed_snapshot(policy::ListSource::Kind::kRpz));
  f.manager->reconcile(feed_snapshot(policy::ListSource::Kind::kHttp));  // another source
  REQUIRE(contexts.size() == 2);
  feeds::CopyMeta m;
  m.version = "from the old primary";
  REQUIRE(f.manager->store().write("mic", policy::kCopyCandidate, "a.example\n", m).empty());
  contexts[0].offer("mic", false);  // the replaced feed's late candidate
  CHECK(f.builds == 0);
  CHECK(f.manager->candidates().empty());
  contexts[1].offer("mic", false);
  CHECK(f.builds == 1);
  CHECK(f.manager->candidates().count("mic") == 1);
  // The same for on_expire: drop.
  contexts[0].drop("mic", true);
  CHECK(f.builds == 1);
  f.manager->stop();
  CHECK(*cancelled == 2);  // both feeds' threads were cancelled and joined by stop()
}

TEST_CASE("stop() cancels the feeds' work in flight and joins it within its bound") {
  Fixture f;
  auto cancelled = std::make_shared<std::atomic<int>>(0);
  f.manager->make_feed = [&](const policy::ListData&, feeds::FeedContext& ctx) {
    return std::make_unique<FakeFeed>(ctx, cancelled);
  };
  f.manager->reconcile(feed_snapshot(policy::ListSource::Kind::kRpz));
  const auto t0 = std::chrono::steady_clock::now();
  f.manager->stop(std::chrono::seconds(30));
  CHECK(*cancelled == 1);  // ended through its flag before stop() returned
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
}

TEST_CASE("a reload that changes an RPZ list's primary shows the new one in the list status") {
  Fixture f;
  auto cancelled = std::make_shared<std::atomic<int>>(0);
  int made = 0;
  f.manager->make_feed = [&](const policy::ListData&, feeds::FeedContext& ctx) {
    ++made;
    return std::make_unique<FakeFeed>(ctx, cancelled);
  };
  auto snap = feed_snapshot(policy::ListSource::Kind::kRpz);
  auto& primaries = snap.lists[0].source.rpz.primaries;
  primaries = {*sinkhole::config::SocketAddress::parse("127.0.0.1:5301", 53)};
  f.manager->reconcile(snap);
  CHECK(f.manager->status().get("mic")->origin == "127.0.0.1:5301");
  primaries = {*sinkhole::config::SocketAddress::parse("127.0.0.2:5302", 53),
               *sinkhole::config::SocketAddress::parse("127.0.0.3:53", 53)};
  f.manager->reconcile(snap);
  CHECK(made == 1);  // the same feed, reconfigured in place
  CHECK(f.manager->status().get("mic")->origin == "127.0.0.2:5302");
  CHECK(f.manager->status().get("mic")->source == "rpz");
  f.manager->stop();
}

TEST_CASE(
    "updates: stage — a published candidate offered to stage lands in `staged`, not current") {
  Fixture f;
  f.offer("serial 2");
  f.manager->build_finished(true, {"mic"}, {}, f.snap);
  f.offer("serial 3", /*stage=*/true);
  CHECK(f.builds == 2);
  // The build reads it as a candidate, through the guard, and is told to stage it.
  CHECK(f.manager->candidates().count("mic") == 1);
  CHECK(f.manager->stage_candidates() == std::set<std::string>{"mic"});
  CHECK(f.manager->describe("mic") == "mic serial 3 (to stage)");
  f.snap.lists[0].staged_entries = 3;
  f.manager->build_finished(true, {"mic"}, {}, f.snap);
  const auto& store = f.manager->store();
  CHECK_FALSE(store.exists("mic", policy::kCopyCandidate));
  CHECK(store.meta("mic", policy::kCopyCurrent)->version == "serial 2");  // still serving
  CHECK(store.meta("mic", policy::kCopyStaged)->version == "serial 3");
  CHECK_FALSE(store.exists("mic", policy::kCopyPrevious));
  CHECK(f.manager->candidates().empty());
  CHECK(f.manager->stage_candidates().empty());
  const auto s = f.manager->status().get("mic");
  CHECK(s->version == "serial 2");
  CHECK(s->staged_version == "serial 3");
  CHECK(s->state == "staged");
  CHECK(f.audit().find("\"event\":\"staged\"") != std::string::npos);
  CHECK(f.audit().find("\"new_version\":\"serial 3\"") != std::string::npos);
  // Promoted (sinkholectl list promote: staged → candidate, offered to enforce): serving.
  REQUIRE(store.move("mic", policy::kCopyStaged, policy::kCopyCandidate).empty());
  f.manager->offer("mic", /*build=*/false);
  CHECK(f.manager->stage_candidates().empty());
  f.manager->build_finished(true, {"mic"}, {}, f.snap);
  CHECK(store.meta("mic", policy::kCopyCurrent)->version == "serial 3");
  CHECK(f.manager->status().get("mic")->staged_version.empty());
}

TEST_CASE("updates: stage — a refused version is deleted; the staged copy stays as it was") {
  Fixture f;
  f.offer("serial 3", true);
  f.manager->build_finished(true, {"mic"}, {}, f.snap);
  f.offer("serial 4", true);
  f.manager->build_finished(false, {"mic"}, {{"mic", "shrink", "list mic: shrinks by 95%"}},
                            f.snap);
  const auto& store = f.manager->store();
  CHECK_FALSE(store.exists("mic", policy::kCopyCandidate));
  CHECK(store.meta("mic", policy::kCopyStaged)->version == "serial 3");
  CHECK(f.manager->status().get("mic")->refused == 1u);
  CHECK(f.manager->status().get("mic")->staged_version == "serial 3");
}

namespace {

// A feed whose fetch for sinkholectl list stage --from-feed the test answers by hand.
struct StagingFeed final : feeds::Feed {
  explicit StagingFeed(feeds::FeedContext& c) : ctx(c) {}
  void start() override {}
  void stop() override {}
  void candidate_done(bool, const std::string&) override {}
  bool fetch_to_stage(std::function<void(const std::string&)> n) override {
    ++asked;
    nothing = std::move(n);
    return true;
  }
  feeds::FeedContext& ctx;
  int asked = 0;
  std::function<void(const std::string&)> nothing;
};

}  // namespace

TEST_CASE("list stage --from-feed: fetched now and staged, or why nothing was") {
  Fixture f;
  StagingFeed* feed = nullptr;
  feeds::FeedContext* ctx = nullptr;
  f.manager->make_feed = [&](const policy::ListData&, feeds::FeedContext& c) {
    ctx = &c;
    auto p = std::make_unique<StagingFeed>(c);
    feed = p.get();
    return p;
  };
  auto snap = feed_snapshot(policy::ListSource::Kind::kRpz);  // updates: enforce
  f.manager->reconcile(snap);
  REQUIRE(feed);
  std::vector<feeds::FeedManager::StageResult> got;
  auto collect = [&](const feeds::FeedManager::StageResult& r) { got.push_back(r); };
  // Nothing newer on the source: an error, nothing staged.
  f.manager->stage_from_feed("mic", collect);
  CHECK(feed->asked == 1);
  feed->nothing("nothing newer on the primary than serial 2 (the version serving)");
  REQUIRE(got.size() == 1);
  CHECK_FALSE(got[0].ok);
  CHECK(got[0].error.find("nothing newer") != std::string::npos);
  // A new version: two requests share the one fetch; both answered once it is staged.
  f.manager->stage_from_feed("mic", collect);
  f.manager->stage_from_feed("mic", collect);
  CHECK(feed->asked == 2);
  feeds::CopyMeta m;
  m.source = "rpz";
  m.who = "feed";
  m.version = "serial 5";
  REQUIRE(f.manager->store().write("mic", policy::kCopyCandidate, "a.example\n", m).empty());
  ctx->offer("mic", true);  // what the feed does with the one-shot stage flag
  CHECK(got.size() == 1);   // not before the build
  CHECK(f.manager->stage_candidates().count("mic") == 1);
  f.manager->build_finished(true, {"mic"}, {}, snap);
  REQUIRE(got.size() == 3);
  CHECK(got[1].ok);
  CHECK(got[1].version == "serial 5");
  CHECK_FALSE(got[1].already);
  CHECK(got[2].ok);
  CHECK(f.manager->store().meta("mic", policy::kCopyStaged)->version == "serial 5");
  CHECK_FALSE(f.manager->store().exists("mic", policy::kCopyCurrent));
  // With updates: stage, the version the feed staged already is the answer, no fetch.
  snap.lists[0].source.updates = policy::ListSource::Updates::kStage;
  f.manager->reconcile(snap);  // same kind: reconfigured in place
  f.manager->stage_from_feed("mic", collect);
  CHECK(feed->asked == 2);
  REQUIRE(got.size() == 4);
  CHECK(got[3].ok);
  CHECK(got[3].already);
  CHECK(got[3].version == "serial 5");
  // A list without a feed.
  f.manager->stage_from_feed("casinos", collect);
  REQUIRE(got.size() == 5);
  CHECK_FALSE(got[4].ok);
  f.manager->stop();
}
