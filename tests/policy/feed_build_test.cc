// SPDX-License-Identifier: MIT
// A feed's build (policy::build_feed_snapshot): the next generation of the snapshot serving
// with only the feeds' candidates read. The configuration is the text the serving snapshot
// was built from, every other list is taken as it serves: the configuration file and the
// other lists' files on disk are never opened (here: deleted or broken, the build still
// succeeds), and a candidate meets the same list guard as in a reload.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "policy/snapshot_builder.h"
#include "tests/policy/snapshot_helpers.h"
#include "tests/policy/temp_dir.h"

using namespace sinkhole::policy;

namespace {

using sinkhole::test::any_list_holds;
using sinkhole::test::list_named;
using sinkhole::test::messages;

struct Fixture {
  sinkhole::test::TempDir tmp;
  std::string state = tmp.path("state");
  std::string yaml;
  BuildResult serving;
  Fixture() {
    tmp.write("ads.txt", "ads.example\ntracker.example\n");
    tmp.write("casinos.txt", "bet.example\ncasino.example\n");
    tmp.write("state/lists/mic/current", "$ORIGIN mic.rpz.\nold.example CNAME .\n");
    yaml = "upstreams: [192.0.2.1]\nserver: { state_dir: " + state +
           " }\nactions:\n  page: { type: sinkhole, a: 192.0.2.80 }\n"
           "lists:\n  ads: { path: ads.txt, action: page }\n"
           "  casinos: { path: casinos.txt }\n"
           "  mic: { primary: [127.0.0.30:5470], zone: mic.rpz, format: rpz, mandatory: true }\n"
           "policies:\n  - { name: all, clients: [0.0.0.0/0], block: [mic, ads, casinos] }\n";
    tmp.write("sinkholed.yaml", yaml);
    serving = build_snapshot(yaml, tmp.config(), 1);
    INFO(messages(serving.errors));
    REQUIRE(serving.snapshot);
    REQUIRE(serving.snapshot->config_text);
    CHECK(*serving.snapshot->config_text == yaml);
  }
  BuildOptions feed_options(const std::string& candidate_text) {
    BuildOptions o;
    o.serving = serving.snapshot;
    o.serving_entries = entries_by_list(*serving.snapshot);
    o.state_dir = state;
    o.candidates["mic"] = tmp.write("state/lists/mic/candidate", candidate_text);
    return o;
  }
};

}  // namespace

TEST_CASE("a feed's build reads its candidate and no other file") {
  Fixture f;
  // The admin is mid-edit: the configuration is broken, a list file emptied, another gone,
  // and the feed's own current copy too. A reload would fail on any of them.
  f.tmp.write("sinkholed.yaml", "lists: [ this is not\n");
  f.tmp.write("ads.txt", "");
  std::filesystem::remove(f.tmp.path("casinos.txt"));
  std::filesystem::remove(f.tmp.path("state/lists/mic/current"));
  CHECK_FALSE(build_snapshot_from_file(f.tmp.config(), 2).snapshot);

  const auto r = build_feed_snapshot(
      2, nullptr, f.feed_options("$ORIGIN mic.rpz.\nold.example CNAME .\nnew.example CNAME .\n"));
  INFO(messages(r.errors));
  REQUIRE(r.snapshot);
  const PolicySnapshot& s = *r.snapshot;
  CHECK(s.generation == 2);
  CHECK(r.lists_rebuilt == 1);
  CHECK(r.lists_reused == 2);
  CHECK(any_list_holds(s, "new.example"));
  CHECK(any_list_holds(s, "old.example"));
  CHECK(any_list_holds(s, "ads.example"));
  CHECK(any_list_holds(s, "casino.example"));
  // The file lists are the serving ones: the same matcher objects, paths and hashes.
  for (const char* name : {"ads", "casinos"}) {
    const ListData& now = list_named(s, name);
    const ListData& before = list_named(*f.serving.snapshot, name);
    CHECK(now.reused);
    CHECK(now.matcher == before.matcher);
    CHECK(now.path == before.path);
    CHECK(now.build_key == before.build_key);
    CHECK(now.stats.entries == before.stats.entries);
  }
  CHECK(list_named(s, "mic").path == f.tmp.path("state/lists/mic/candidate"));
  CHECK(list_named(s, "mic").mandatory);
  CHECK(list_named(s, "ads").default_action >= 0);
  CHECK(s.actions[static_cast<size_t>(list_named(s, "ads").default_action)].name == "page");
  // The configuration in service is carried on to the next feed's build.
  REQUIRE(s.config_text);
  CHECK(*s.config_text == f.yaml);
}

TEST_CASE("a feed's build does not apply a configuration edit that was not reloaded") {
  Fixture f;
  // A valid edit on disk: another action for ads, casinos gone, a new list.
  std::string edited = f.yaml;
  edited.replace(edited.find("action: page"), 12, "action: nxdomain");
  edited.replace(edited.find("  casinos: { path: casinos.txt }\n"), 33,
                 "  extra: { path: extra.txt }\n");
  edited.replace(edited.find("ads, casinos]"), 13, "ads, extra]");
  f.tmp.write("extra.txt", "extra.example\n");
  f.tmp.write("sinkholed.yaml", edited);
  REQUIRE(build_snapshot_from_file(f.tmp.config(), 2).snapshot);  // a valid edit

  const auto r =
      build_feed_snapshot(2, nullptr, f.feed_options("$ORIGIN mic.rpz.\nnew.example CNAME .\n"));
  INFO(messages(r.errors));
  REQUIRE(r.snapshot);
  const PolicySnapshot& s = *r.snapshot;
  CHECK(any_list_holds(s, "new.example"));
  CHECK(any_list_holds(s, "casino.example"));
  CHECK_FALSE(any_list_holds(s, "extra.example"));
  CHECK(s.actions[static_cast<size_t>(list_named(s, "ads").default_action)].name == "page");
  CHECK(*s.config_text == f.yaml);
}

TEST_CASE("a feed's build refuses a candidate the list guard refuses, and only it") {
  Fixture f;
  f.tmp.write("ads.txt", "");  // a broken file list is not the feed build's business
  auto options = f.feed_options("$ORIGIN mic.rpz.\n");  // an empty zone: the guard refuses it
  const auto r = build_feed_snapshot(2, nullptr, options);
  CHECK_FALSE(r.snapshot);
  REQUIRE(r.refusals.size() == 1);
  CHECK(r.refusals[0].list == "mic");
  CHECK(r.refusals[0].reason == std::string(refusal::kEmpty));
  REQUIRE_FALSE(r.errors.empty());
  CHECK(r.errors.front().find("mic") != std::string::npos);

  // The candidate copy of the same bytes as the one serving is reused, not compiled.
  options = f.feed_options("$ORIGIN mic.rpz.\nold.example CNAME .\n");
  const auto same = build_feed_snapshot(2, nullptr, options);
  REQUIRE(same.snapshot);
  CHECK(same.lists_rebuilt == 0);
  CHECK(list_named(*same.snapshot, "mic").matcher ==
        list_named(*f.serving.snapshot, "mic").matcher);
}

TEST_CASE("a feed's build needs the serving snapshot's configuration text") {
  Fixture f;
  auto bare = std::make_shared<PolicySnapshot>(*f.serving.snapshot);
  bare->config_text.reset();
  BuildOptions o;
  o.serving = bare;
  const auto r = build_feed_snapshot(2, nullptr, o);
  CHECK_FALSE(r.snapshot);
  CHECK_FALSE(r.errors.empty());
}
