// SPDX-License-Identifier: MIT
// The feed manager's bridge between a candidate copy and a build: offered → handed to the
// next build → promoted (published), deleted (refused) or kept (the build failed elsewhere).
#include "resolver/feeds/feed_manager.h"

#include <doctest/doctest.h>

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
  void offer(const std::string& version) {
    feeds::CopyMeta m;
    m.source = "rpz";
    m.who = "feed";
    m.version = version;
    m.seen_unix_ms = feeds::unix_now_ms() - 250;
    REQUIRE(manager->store().write("mic", policy::kCopyCandidate, "a.example\n", m).empty());
    manager->offer("mic");
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
