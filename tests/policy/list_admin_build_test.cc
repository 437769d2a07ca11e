// SPDX-License-Identifier: MIT
// The snapshot builder's rules for lists updated by hand (sinkholectl list push / stage,
// block / unblock): a file list reads its pushed copy until its file changes, then the file
// (reported as superseded); a staged copy compiles beside the serving one and keeps its
// tally across builds while unchanged; the local overrides file becomes built-in lists —
// block first in every policy and mandatory, unblock an allow (not lifting a mandatory
// list), unblock --list L an exception of L only (lifting even a mandatory L).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <utime.h>

#include <string>

#include "policy/list_copies.h"
#include "policy/local_overrides.h"
#include "policy/snapshot.h"
#include "policy/snapshot_builder.h"
#include "resolver/dns/name.h"
#include "tests/policy/snapshot_helpers.h"
#include "tests/policy/temp_dir.h"

using namespace sinkhole::policy;

namespace {

using sinkhole::test::list_named;
using sinkhole::test::messages;

Verdict decide(const PolicySnapshot& s, const char* name) {
  uint8_t wire[sinkhole::dns::kMaxNameWire];
  const size_t len = sinkhole::dns::text_to_wire(name, wire);
  return s.decide(0, wire, len, nullptr);
}

bool blocked(const PolicySnapshot& s, const char* name) {
  return decide(s, name).kind == Verdict::Kind::kBlock;
}

struct Fixture {
  sinkhole::test::TempDir tmp;
  std::string state = tmp.path("state");
  std::string yaml;
  Fixture() {
    tmp.write("ads.txt", "ads.example\nboth.example\n");
    tmp.write("mic.txt", "law.example\n");
    tmp.write("allow.txt", "both.example\n");
    yaml = "upstreams: [192.0.2.1]\nserver: { state_dir: " + state +
           " }\nlists:\n  ads: { path: ads.txt }\n  mic: { path: mic.txt, mandatory: true }\n"
           "  ok: { path: allow.txt }\n"
           "policies:\n  - { name: all, clients: [0.0.0.0/0], allow: [ok], block: [mic, ads] }\n";
  }
  BuildResult build(const BuildOptions& o = {}) {
    auto r = build_snapshot(yaml, tmp.config(), 1, nullptr, o);
    INFO(messages(r.errors));
    REQUIRE(r.snapshot);
    return r;
  }
};

}  // namespace

TEST_CASE("a pushed copy of a file list serves until the configured file changes") {
  Fixture f;
  // As ListStore writes it after a promoted push: the copy and its meta with the
  // configured file's fingerprint.
  const std::string ads = f.tmp.path("ads.txt");
  f.tmp.write("state/lists/ads/current", "pushed.example\n");
  f.tmp.write("state/lists/ads/current.meta.json",
              "{\"source\":\"push\",\"over_file\":\"" + file_fingerprint(ads) + "\"}\n");
  auto r = f.build();
  CHECK(list_named(*r.snapshot, "ads").copy == "pushed");
  CHECK(blocked(*r.snapshot, "pushed.example"));
  CHECK_FALSE(blocked(*r.snapshot, "ads.example"));
  CHECK(r.superseded_pushes.empty());

  // A candidate (a push being checked) wins over both.
  BuildOptions o;
  o.candidates["ads"] = f.tmp.write("state/lists/ads/candidate", "cand.example\n");
  r = f.build(o);
  CHECK(list_named(*r.snapshot, "ads").copy == "candidate");
  CHECK(blocked(*r.snapshot, "cand.example"));

  // The operator edits the file: it serves again, and the build says so.
  f.tmp.write("ads.txt", "ads.example\nnewer.example\n");
  struct utimbuf t {
    1000000, 1000000
  };  // a different mtime even within one clock tick
  ::utime(ads.c_str(), &t);
  r = f.build();
  CHECK(list_named(*r.snapshot, "ads").copy.empty());
  CHECK(blocked(*r.snapshot, "newer.example"));
  CHECK_FALSE(blocked(*r.snapshot, "pushed.example"));
  CHECK(r.superseded_pushes == std::vector<std::string>{"ads"});
}

TEST_CASE("a staged copy compiles beside the serving one, never answers, keeps its tally") {
  Fixture f;
  f.tmp.write("state/lists/ads/staged", "ads.example\nstaged.example\n");
  auto r = f.build();
  const ListData& ads = list_named(*r.snapshot, "ads");
  REQUIRE(ads.staged);
  CHECK(r.snapshot->any_staged);
  CHECK(ads.staged_entries == 2);
  CHECK(ads.staged->lookup_text("staged.example", nullptr));
  CHECK_FALSE(blocked(*r.snapshot, "staged.example"));  // monitor only
  REQUIRE(ads.staged_tally);
  ads.staged_tally->record(0, nullptr);

  BuildOptions o;
  o.staged_tallies = staged_tallies(*r.snapshot);
  auto again = f.build(o);
  CHECK(list_named(*again.snapshot, "ads").staged_tally ==
        ads.staged_tally);  // same copy: same tally
  CHECK(list_named(*again.snapshot, "ads").staged_tally->queries() == 1);

  f.tmp.write("state/lists/ads/staged", "other.example\n");
  struct utimbuf t {
    2000000, 2000000
  };
  ::utime(f.tmp.path("state/lists/ads/staged").c_str(), &t);
  auto changed = f.build(o);
  CHECK(list_named(*changed.snapshot, "ads").staged_tally != ads.staged_tally);
  CHECK(list_named(*changed.snapshot, "ads").staged_tally->queries() == 0);

  // A staged copy without a valid entry is a warning, never a failed build.
  f.tmp.write("state/lists/ads/staged", "<html>\n");
  auto bad = f.build();
  CHECK_FALSE(list_named(*bad.snapshot, "ads").staged);
  CHECK_FALSE(bad.snapshot->any_staged);
}

TEST_CASE("local overrides: block first and mandatory, unblock an allow, scoped exception") {
  Fixture f;
  std::vector<OverrideEntry> e;
  apply_block(e, "urgent.example", "", "order");
  apply_block(e, "both.example", "", "");  // in the allow list too: the override wins
  apply_unblock(e, "ads.example", "", "");
  apply_unblock(e, "law.example", "", "");  // mandatory: an allow cannot lift it
  f.tmp.write("state/lists/local-overrides/current", render_overrides(e));
  auto r = f.build();
  const auto& s = *r.snapshot;
  CHECK(blocked(s, "urgent.example"));
  CHECK(blocked(s, "www.urgent.example"));  // subdomains too
  CHECK(s.lists[decide(s, "urgent.example").list].name == "local-overrides");
  CHECK(s.lists[decide(s, "both.example").list].name == "local-overrides");
  CHECK_FALSE(blocked(s, "ads.example"));
  CHECK(blocked(s, "law.example"));
  CHECK(list_named(s, "local-overrides").category == "override");
  CHECK(s.policies[0].block.front().list == decide(s, "urgent.example").list);

  // --list mic: an exception of the mandatory list itself lifts it.
  apply_unblock(e, "law.example", "mic", "court ruling");
  // --list ads: a block in ads' place, with ads' action.
  apply_block(e, "scoped.example", "ads", "");
  f.tmp.write("state/lists/local-overrides/current", render_overrides(e));
  r = f.build();
  CHECK_FALSE(blocked(*r.snapshot, "law.example"));
  CHECK(blocked(*r.snapshot, "scoped.example"));
  CHECK(r.snapshot->lists[decide(*r.snapshot, "scoped.example").list].name ==
        "local-overrides@ads");

  // A configured list may not take a reserved name.
  f.yaml += "";
  auto bad = build_snapshot(
      "upstreams: [192.0.2.1]\nlists:\n  local-overrides: { path: ads.txt }\n", f.tmp.config(), 1);
  CHECK_FALSE(bad.snapshot);
}
