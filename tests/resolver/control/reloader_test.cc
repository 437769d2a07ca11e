// SPDX-License-Identifier: MIT
// The Reloader's two kinds of build: a reload (the admin's: the configuration file and every
// list from disk) and a feed's build (the snapshot serving plus the candidates). A feed's
// build succeeds while the admin's files are broken and leaves the reload status alone; a
// reload and a feed's request that meet make one reload; a failed reload is followed by a
// feed's build when candidates wait, and a failed feed's build by nothing (no loop).
#include "resolver/control/reloader.h"

#include <doctest/doctest.h>
#include <uv.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "policy/snapshot_builder.h"
#include "tests/policy/snapshot_helpers.h"
#include "tests/policy/temp_dir.h"

namespace {

using namespace sinkhole;
using control::Reloader;

struct Harness {
  test::TempDir tmp;
  std::string state = tmp.path("state");
  uv_loop_t loop{};
  policy::SnapshotHolder holder;
  std::map<std::string, std::string> waiting;  // the feed manager's candidates
  std::vector<Reloader::Outcome> outcomes;
  std::unique_ptr<Reloader> reloader;

  Harness() {
    tmp.write("ads.txt", "ads.example\ntracker.example\n");
    tmp.write("state/lists/mic/current", "$ORIGIN mic.rpz.\nold.example CNAME .\n");
    const std::string yaml =
        "upstreams: [192.0.2.1]\nserver: { state_dir: " + state +
        " }\nlists:\n  ads: { path: ads.txt }\n"
        "  mic: { primary: [127.0.0.30:5470], zone: mic.rpz, format: rpz }\n"
        "policies:\n  - { name: all, clients: [0.0.0.0/0], block: [mic, ads] }\n";
    tmp.write("sinkholed.yaml", yaml);
    auto first = policy::build_snapshot_from_file(tmp.config(), 1);
    REQUIRE(first.snapshot);
    holder.publish(first.snapshot);
    REQUIRE(uv_loop_init(&loop) == 0);
    reloader = std::make_unique<Reloader>(&loop, tmp.config(), holder);
    reloader->state_dir = state;
    reloader->candidates = [this] { return waiting; };
    // As the feed manager does: a published candidate is promoted, a refused one deleted;
    // one a build failed elsewhere waits.
    reloader->on_built = [this](const Reloader::Outcome& o) {
      outcomes.push_back(o);
      if (o.ok)
        for (const auto& l : o.candidates) {
          std::filesystem::rename(waiting.at(l), state + "/lists/" + l + "/current");
          waiting.erase(l);
        }
      for (const auto& r : o.refusals) waiting.erase(r.list);
    };
  }
  ~Harness() {
    reloader.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  void offer(const std::string& text) {
    waiting["mic"] = tmp.write("state/lists/mic/candidate", text);
  }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
  bool blocks(const char* name) const { return test::any_list_holds(*holder.current(), name); }
};

}  // namespace

TEST_CASE("a feed's build serves its copy while the admin's files are broken") {
  Harness h;
  h.tmp.write("sinkholed.yaml", "lists: [ broken\n");
  h.tmp.write("ads.txt", "");
  h.offer("$ORIGIN mic.rpz.\nold.example CNAME .\nnew.example CNAME .\n");
  h.reloader->request(nullptr, false, Reloader::Kind::kFeed);
  h.run();
  REQUIRE(h.outcomes.size() == 1);
  CHECK(h.outcomes[0].ok);
  CHECK(h.outcomes[0].feed);
  CHECK(h.outcomes[0].candidates == std::vector<std::string>{"mic"});
  CHECK(h.holder.generation() == 2);
  CHECK(h.blocks("new.example"));
  CHECK(h.blocks("ads.example"));
  // Not a reload: the status says nothing about it.
  CHECK(h.reloader->status().reloads() == 0);
  CHECK(h.reloader->status().failures() == 0);
  CHECK(h.reloader->status().last_error().empty());

  SUBCASE("a refused candidate is counted by list, not as a failed reload") {
    h.offer("$ORIGIN mic.rpz.\n");
    h.reloader->request(nullptr, false, Reloader::Kind::kFeed);
    h.run();
    REQUIRE(h.outcomes.size() == 2);  // and no build after it
    CHECK_FALSE(h.outcomes[1].ok);
    CHECK(h.outcomes[1].feed);
    REQUIRE(h.outcomes[1].refusals.size() == 1);
    CHECK(h.reloader->status().failures() == 0);
    CHECK(h.reloader->status().last_error().empty());
    CHECK(h.reloader->status().list_failure_counts().at({"mic", "empty"}) == 1);
    CHECK(h.holder.generation() == 2);
    CHECK(h.blocks("new.example"));
  }
}

TEST_CASE("a failed reload is followed by a feed's build of the waiting candidates") {
  Harness h;
  h.tmp.write("ads.txt", "");  // the admin empties a list: the guard refuses it
  h.offer("$ORIGIN mic.rpz.\nold.example CNAME .\nnew.example CNAME .\n");
  h.reloader->request();
  h.run();
  REQUIRE(h.outcomes.size() == 2);
  CHECK_FALSE(h.outcomes[0].ok);
  CHECK_FALSE(h.outcomes[0].feed);
  CHECK(h.outcomes[1].ok);
  CHECK(h.outcomes[1].feed);
  CHECK(h.blocks("new.example"));
  CHECK(h.blocks("ads.example"));  // the old copy of the refused file list
  // The admin's reload failed and the status keeps saying so (sinkholed_last_reload_ok 0).
  CHECK(h.reloader->status().failures() == 1);
  CHECK(h.reloader->status().reloads() == 0);
  CHECK(h.reloader->status().last_error().find("ads") != std::string::npos);
  CHECK(h.reloader->status().list_failure_counts().at({"ads", "empty"}) == 1);

  // The admin fixes the file and reloads: a success again, the feed's copy kept.
  h.tmp.write("ads.txt", "ads.example\ntracker.example\nmore.example\n");
  h.reloader->request();
  h.run();
  REQUIRE(h.outcomes.size() == 3);
  CHECK(h.outcomes[2].ok);
  CHECK_FALSE(h.outcomes[2].feed);
  CHECK(h.reloader->status().last_error().empty());
  CHECK(h.reloader->status().reloads() == 1);
  CHECK(h.blocks("more.example"));
}

TEST_CASE("a push or a block that joins a failing reload is answered by the feed's build") {
  Harness h;
  std::vector<std::pair<bool, bool>> reload_done, push_done;   // (ok, feed)
  h.reloader->request(nullptr, false, Reloader::Kind::kFeed);  // starts at once, no copy
  // Both queued behind it, so they meet in one build: a reload of the admin's broken file...
  h.tmp.write("sinkholed.yaml", "lists: [ broken\n");
  h.reloader->request([&](const Reloader::Outcome& o) { reload_done.push_back({o.ok, o.feed}); });
  // ...and sinkholectl's push of a new copy.
  h.offer("$ORIGIN mic.rpz.\nold.example CNAME .\npushed.example CNAME .\n");
  h.reloader->request(
      [&](const Reloader::Outcome& o) {
        push_done.push_back({o.ok, o.feed});
      },
      false, Reloader::Kind::kFeed);
  h.run();
  REQUIRE(h.outcomes.size() == 3);
  CHECK_FALSE(h.outcomes[1].ok);  // the reload they met
  CHECK_FALSE(h.outcomes[1].feed);
  // The admin hears of the failure; the push, of the build that installed its copy.
  CHECK(reload_done == std::vector<std::pair<bool, bool>>{{false, false}});
  CHECK(push_done == std::vector<std::pair<bool, bool>>{{true, true}});
  CHECK(h.outcomes[2].candidates == std::vector<std::string>{"mic"});
  CHECK(h.blocks("pushed.example"));
  CHECK(h.reloader->status().failures() == 1);
}

TEST_CASE("a block that joins a failing reload is built even without a copy waiting") {
  // An emergency block edits the overrides file and waits for a build: the reload it met
  // failing must not leave the block unapplied until the admin fixes the file.
  Harness h;
  std::vector<bool> block_done;
  h.reloader->request(nullptr, false, Reloader::Kind::kFeed);
  h.tmp.write("sinkholed.yaml", "lists: [ broken\n");
  h.reloader->request();
  h.reloader->request([&](const Reloader::Outcome& o) { block_done.push_back(o.ok && o.feed); },
                      false, Reloader::Kind::kFeed);
  h.run();
  REQUIRE(h.outcomes.size() == 3);
  CHECK(block_done == std::vector<bool>{true});
  CHECK_FALSE(h.outcomes[1].ok);
  CHECK(h.outcomes[2].ok);  // the follow-up, published
  CHECK(h.outcomes[2].feed);
  CHECK(h.holder.generation() == h.outcomes[2].generation);
}

TEST_CASE("a failed reload without candidates waiting is not followed by a build") {
  Harness h;
  h.tmp.write("sinkholed.yaml", "lists: [ broken\n");
  h.reloader->request();
  h.run();
  REQUIRE(h.outcomes.size() == 1);
  CHECK_FALSE(h.outcomes[0].ok);
  CHECK(h.holder.generation() == 1);
}

TEST_CASE("a reload and a feed's request that meet make one reload") {
  Harness h;
  h.offer("$ORIGIN mic.rpz.\nold.example CNAME .\nnew.example CNAME .\n");
  h.tmp.write("ads.txt", "ads.example\ntracker.example\nedited.example\n");
  std::vector<bool> done;
  h.reloader->request(nullptr, false, Reloader::Kind::kFeed);  // starts at once
  h.reloader->request(nullptr, false, Reloader::Kind::kFeed);  // both queued behind it...
  h.reloader->request([&](const Reloader::Outcome& o) { done.push_back(o.ok); });  // ...a reload
  h.run();
  REQUIRE(h.outcomes.size() == 2);
  CHECK(h.outcomes[0].feed);
  CHECK_FALSE(h.outcomes[1].feed);
  CHECK(h.outcomes[1].ok);
  CHECK(done == std::vector<bool>{true});
  CHECK(h.blocks("new.example"));
  CHECK(h.blocks("edited.example"));  // the reload read the file
  CHECK(h.reloader->status().reloads() == 1);
}
