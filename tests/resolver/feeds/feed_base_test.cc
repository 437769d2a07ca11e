// SPDX-License-Identifier: MIT
// The copy a feed's next fetch starts from (the IXFR base, the HTTP validators): the version
// it fetched last — staged under `updates: stage`, else the one serving.
#include "resolver/feeds/feed_base.h"

#include <doctest/doctest.h>

#include "tests/policy/temp_dir.h"

namespace feeds = sinkhole::feeds;
namespace policy = sinkhole::policy;

namespace {

feeds::CopyMeta meta(const char* source, const char* who, uint32_t serial) {
  feeds::CopyMeta m;
  m.source = source;
  m.who = who;
  m.serial = serial;
  m.version = "serial " + std::to_string(serial);
  return m;
}

}  // namespace

TEST_CASE("the IXFR base is the version the feed fetched last: staged under updates: stage") {
  sinkhole::test::TempDir tmp;
  const feeds::ListStore store(tmp.dir().string());
  REQUIRE(store.write("mic", policy::kCopyCurrent, "x", meta("rpz", "feed", 2)).empty());
  // Nothing staged: the copy serving, in either mode.
  CHECK(feeds::feed_base(store, "mic", "rpz", true).slot == policy::kCopyCurrent);
  CHECK(*feeds::feed_base(store, "mic", "rpz", true).meta->serial == 2u);
  REQUIRE(store.write("mic", policy::kCopyStaged, "y", meta("rpz", "feed", 3)).empty());
  const auto b = feeds::feed_base(store, "mic", "rpz", true);
  CHECK(b.slot == policy::kCopyStaged);
  CHECK(*b.meta->serial == 3u);
  // updates: enforce asks from the copy serving (what it fetches is enforced).
  CHECK(feeds::feed_base(store, "mic", "rpz", false).slot == policy::kCopyCurrent);
  // A copy staged by hand (sinkholectl list stage FILE), or by another kind of feed, is not
  // this feed's: its delta would not apply to it.
  REQUIRE(store.write("mic", policy::kCopyStaged, "z", meta("push", "ctl", 0)).empty());
  CHECK(feeds::feed_base(store, "mic", "rpz", true).slot == policy::kCopyCurrent);
  REQUIRE(store.write("mic", policy::kCopyStaged, "z", meta("http", "feed", 0)).empty());
  CHECK(feeds::feed_base(store, "mic", "rpz", true).slot == policy::kCopyCurrent);
  // Promoted or unstaged: the slot is empty, the base is the copy serving again.
  store.remove("mic", policy::kCopyStaged);
  CHECK(feeds::feed_base(store, "mic", "rpz", true).slot == policy::kCopyCurrent);
}
