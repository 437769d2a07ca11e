// SPDX-License-Identifier: MIT
// The copy a feed's next fetch starts from: the latest version it fetched. That is the copy
// serving (`current`), unless the list holds its feed's new versions for review (`updates:
// stage`) and a version the feed fetched waits in the `staged` slot: then that one, so that
// an IXFR's delta applies to it (not to the older copy serving) and an HTTP 304 means
// nothing newer than it. A copy staged by hand (sinkholectl list stage FILE) is not the
// feed's: the base stays `current`. Control thread and feed work threads (reads files).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/list_copies.h"
#include "resolver/feeds/list_store.h"

namespace sinkhole::feeds {

struct FeedBase {
  std::string_view slot = policy::kCopyCurrent;  // kCopyCurrent or kCopyStaged
  std::optional<CopyMeta> meta;                  // the slot's meta (nullopt: none, or damaged)
};

// Whether the staged copy of `list` is one its feed fetched (source "rpz" or "http").
inline bool staged_by_feed(const ListStore& store, std::string_view list, std::string_view source) {
  if (!store.exists(list, policy::kCopyStaged)) return false;
  const auto m = store.meta(list, policy::kCopyStaged);
  return m && m->who == "feed" && m->source == source;
}

// `stage`: the list's `updates: stage`. `source`: "rpz" or "http".
inline FeedBase feed_base(const ListStore& store, std::string_view list, std::string_view source,
                          bool stage) {
  FeedBase b;
  if (stage && staged_by_feed(store, list, source)) b.slot = policy::kCopyStaged;
  b.meta = store.meta(list, b.slot);
  return b;
}

}  // namespace sinkhole::feeds
