// SPDX-License-Identifier: MIT
// Per-list rebuilds (policy/snapshot_builder.cc, BuildOptions::serving): a reload compiles
// only the lists whose bytes or build settings changed and takes everything else from the
// snapshot serving — the same matcher object, stats, RPZ local data, warnings, exception
// names — and its summary says how many were rebuilt and reused.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "blocklist/content_hash.h"
#include "policy/snapshot_builder.h"
#include "tests/policy/snapshot_helpers.h"
#include "tests/policy/temp_dir.h"
#include "util/read_file.h"

namespace {

using sinkhole::test::list_named;

using namespace sinkhole::policy;
using sinkhole::test::TempDir;

constexpr const char* kConfig = R"(lists:
  ads: { path: ads.txt, format: domains }
  zone: { path: zone.rpz, format: rpz }
  allow: { path: allow.txt }
  guarded: { path: guarded.txt, format: domains, exceptions: [allow] }
policies:
  - name: all
    clients: ["0.0.0.0/0"]
    block: [ads, zone, guarded]
)";

BuildResult reload(const TempDir& t, const BuildResult& serving, uint64_t gen,
                   const std::string& yaml = kConfig) {
  BuildOptions o;
  o.serving = serving.snapshot;
  o.serving_entries = entries_by_list(*serving.snapshot);
  BuildResult r = build_snapshot(yaml, t.config(), gen, nullptr, o);
  const std::string first_error = r.errors.empty() ? std::string() : r.errors.front();
  INFO(first_error);
  REQUIRE(r.snapshot != nullptr);
  return r;
}

void write_lists(const TempDir& t) {
  t.write("ads.txt", "ads.example\ntracker.example\nbad line!\nmore.example\n");
  t.write("zone.rpz",
          "$TTL 300\n@ SOA a. b. 1 2 3 4 5\nz.example CNAME .\nl.example A 192.0.2.1\n");
  t.write("allow.txt", "ok.guarded.example\n");
  t.write("guarded.txt", "guarded.example\nother.example\n");
}

TEST_CASE("per-list rebuilds: unchanged lists are reused, changed ones compiled") {
  TempDir t;
  write_lists(t);
  BuildOptions strict;
  strict.force = true;  // ads.txt has a rejected line over the reject ratio
  BuildResult g1 = build_snapshot(kConfig, t.config(), 1, nullptr, strict);
  REQUIRE(g1.snapshot != nullptr);
  CHECK(g1.lists_rebuilt == 4);
  CHECK(g1.lists_reused == 0);
  CHECK(g1.summary.find("rebuilt") == std::string::npos);  // no snapshot served yet
  for (const auto& l : g1.snapshot->lists) {
    CHECK_FALSE(l.reused);
    std::string error;
    CHECK(l.content_hash ==
          sinkhole::blocklist::content_hash(*sinkhole::util::read_file(l.path, &error)));
  }

  SUBCASE("nothing changed: every list reused, the same matcher objects") {
    BuildResult g2 = reload(t, g1, 2);
    CHECK(g2.lists_rebuilt == 0);
    CHECK(g2.lists_reused == 4);
    CHECK(g2.summary.ends_with("; 0 lists rebuilt, 4 reused"));
    for (const auto& name : {"ads", "zone", "allow", "guarded"}) {
      CAPTURE(name);
      CHECK(list_named(g2, name).reused);
      CHECK(list_named(g2, name).matcher == list_named(g1, name).matcher);
      CHECK(list_named(g2, name).stats.entries == list_named(g1, name).stats.entries);
      CHECK(list_named(g2, name).loaded_unix == list_named(g1, name).loaded_unix);
    }
    CHECK(list_named(g2, "zone").local.size() == 1);  // RPZ local data comes along
    CHECK(list_named(g2, "allow").format ==
          list_named(g1, "allow").format);  // the inferred format too
    CHECK(list_named(g2, "allow").format_why == list_named(g1, "allow").format_why);
    // The reused list's rejected line is still reported, as each build reports it.
    bool warned = false;
    for (const auto& w : g2.warnings) warned |= w.starts_with("list ads: 1 line rejected");
    CHECK(warned);
    CHECK(g2.details.size() == g1.details.size());
    // The exception list's names were kept: its lift is counted again.
    REQUIRE(list_named(g2, "guarded").exempted_names.size() == 1);
    CHECK(list_named(g2, "guarded").exempted_names[0] == 1);
    // And the reused snapshot decides like the first one.
    CHECK(list_named(g2, "zone").matcher->lookup_text("z.example", nullptr).has_value());
  }

  SUBCASE("one list changed: only it is compiled") {
    t.write("ads.txt", "ads.example\ntracker.example\nmore.example\nnew.example\n");
    BuildResult g2 = reload(t, g1, 2);
    CHECK(g2.lists_rebuilt == 1);
    CHECK(g2.lists_reused == 3);
    CHECK(g2.summary.ends_with("; 1 list rebuilt, 3 reused"));
    CHECK_FALSE(list_named(g2, "ads").reused);
    CHECK(list_named(g2, "ads").matcher != list_named(g1, "ads").matcher);
    CHECK(list_named(g2, "ads").content_hash != list_named(g1, "ads").content_hash);
    CHECK(list_named(g2, "ads").stats.entries == 4);
    CHECK(list_named(g2, "ads").matcher->lookup_text("new.example", nullptr).has_value());
    CHECK(list_named(g2, "zone").matcher == list_named(g1, "zone").matcher);
    for (const auto& w : g2.warnings) CHECK_FALSE(w.starts_with("list ads:"));
  }

  SUBCASE("the exception list changed: the reused list's lifts are counted again") {
    t.write("allow.txt", "ok.guarded.example\nother.example\n");
    BuildResult g2 = reload(t, g1, 2);
    CHECK(list_named(g2, "guarded").reused);
    CHECK_FALSE(list_named(g2, "allow").reused);
    REQUIRE(list_named(g2, "guarded").exempted_names.size() == 1);
    CHECK(list_named(g2, "guarded").exempted_names[0] == 2);
  }

  SUBCASE("same bytes, other build settings: compiled again") {
    std::string yaml = kConfig;
    yaml.replace(yaml.find("format: rpz }"), 13, "format: rpz, max_entries: 1000 }");
    BuildResult g2 = reload(t, g1, 2, yaml);
    CHECK_FALSE(list_named(g2, "zone").reused);
    CHECK(list_named(g2, "zone").content_hash == list_named(g1, "zone").content_hash);
    CHECK(list_named(g2, "zone").build_key != list_named(g1, "zone").build_key);
    CHECK(list_named(g2, "ads").reused);
  }

  SUBCASE("a changed list still goes through the list guard; a reused one does not") {
    t.write("guarded.txt", "");
    BuildOptions o;
    o.serving = g1.snapshot;
    o.serving_entries = entries_by_list(*g1.snapshot);
    BuildResult g2 = build_snapshot(kConfig, t.config(), 2, nullptr, o);
    CHECK(g2.snapshot == nullptr);
    REQUIRE(g2.refusals.size() == 1);
    CHECK(g2.refusals[0].list == "guarded");  // ads (over the reject ratio) was reused
  }
}

TEST_CASE("content_hash: the bytes decide, and parts are length-prefixed") {
  using sinkhole::blocklist::content_hash;
  CHECK(content_hash("abc") == content_hash("abc"));
  CHECK(content_hash("abc") != content_hash("abd"));
  CHECK(content_hash({"ab", "c"}) != content_hash({"a", "bc"}));
  CHECK(content_hash({"ab", "c"}) == content_hash({"ab", "c"}));
}

}  // namespace
