// SPDX-License-Identifier: MIT
#include "resolver/feeds/list_store.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "policy/list_copies.h"
#include "tests/policy/temp_dir.h"
#include "util/read_file.h"

using sinkhole::feeds::CopyMeta;
using sinkhole::feeds::ListStore;
namespace policy = sinkhole::policy;

TEST_CASE("a copy and its meta are written, read back and promoted") {
  sinkhole::test::TempDir tmp;
  const ListStore store(tmp.dir().string());
  CopyMeta m;
  m.source = "rpz";
  m.who = "feed";
  m.version = "serial 7";
  m.serial = 7;
  m.seen_unix_ms = 1234;
  REQUIRE(store.write("mic", policy::kCopyCandidate, "bad.example CNAME .\n", m).empty());
  CHECK(store.exists("mic", policy::kCopyCandidate));
  CHECK_FALSE(store.exists("mic", policy::kCopyCurrent));
  const auto back = store.meta("mic", policy::kCopyCandidate);
  REQUIRE(back);
  CHECK(back->version == "serial 7");
  CHECK(back->serial == 7u);
  CHECK(back->seen_unix_ms == 1234);
  CHECK(back->bytes == 20u);
  CHECK(back->written_unix_ms > 0);

  REQUIRE(store.promote_candidate("mic").empty());
  CHECK(store.exists("mic", policy::kCopyCurrent));
  CHECK_FALSE(store.exists("mic", policy::kCopyCandidate));
  CHECK(*sinkhole::util::read_file(store.path("mic", policy::kCopyCurrent), nullptr) ==
        "bad.example CNAME .\n");

  // The next candidate pushes the serving copy to `previous` (last-known-good).
  m.version = "serial 8";
  m.serial = 8;
  REQUIRE(store.write("mic", policy::kCopyCandidate, "other.example CNAME .\n", m).empty());
  REQUIRE(store.promote_candidate("mic").empty());
  CHECK(store.meta("mic", policy::kCopyCurrent)->version == "serial 8");
  CHECK(store.meta("mic", policy::kCopyPrevious)->version == "serial 7");
  CHECK(*sinkhole::util::read_file(store.path("mic", policy::kCopyPrevious), nullptr) ==
        "bad.example CNAME .\n");
  CHECK_FALSE(store.promote_candidate("mic").empty());  // nothing to promote: an error

  store.remove("mic", policy::kCopyPrevious);
  CHECK_FALSE(store.exists("mic", policy::kCopyPrevious));
  CHECK_FALSE(store.meta("mic", policy::kCopyPrevious));
}

TEST_CASE("a list name never climbs out of the state directory") {
  CHECK(policy::list_dir_name("mic") == "mic");
  CHECK(policy::list_dir_name("a.b-c_d") == "a.b-c_d");
  CHECK(policy::list_dir_name("../etc") == "%2E.%2Fetc");
  CHECK(policy::list_dir_name(".hidden") == "%2Ehidden");
  CHECK(policy::list_dir_name("") == "%");
  sinkhole::test::TempDir tmp;
  const ListStore store(tmp.dir().string());
  REQUIRE(store.write("../escape", policy::kCopyCurrent, "x\n", {}).empty());
  CHECK(std::filesystem::exists(tmp.dir() / "lists" / "%2E.%2Fescape" / "current"));
  CHECK_FALSE(std::filesystem::exists(tmp.dir() / "escape"));
}

TEST_CASE("a damaged meta file loses the version, not the copy") {
  sinkhole::test::TempDir tmp;
  const ListStore store(tmp.dir().string());
  REQUIRE(store.write("l", policy::kCopyCurrent, "a.example\n", {}).empty());
  tmp.write("lists/l/current.meta.json", "{not json");
  CHECK_FALSE(store.meta("l", policy::kCopyCurrent));
  CHECK(store.exists("l", policy::kCopyCurrent));
}

TEST_CASE("an unwritable state directory is an error, not a crash") {
  const ListStore store("/proc/sinkhole-no-such-dir");
  CHECK_FALSE(store.write("l", policy::kCopyCandidate, "a\n", {}).empty());
  std::string error;
  CHECK_FALSE(sinkhole::feeds::ensure_state_dir("/proc/sinkhole-no-such/dir", &error));
  CHECK(error.find("state directory") != std::string::npos);
}
