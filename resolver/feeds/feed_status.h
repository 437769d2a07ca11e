// SPDX-License-Identifier: MIT
// FeedStatus: what each list's source did last — for `sinkholectl lists`, /metrics and
// /healthz. Feeds and the feed manager write it (control thread, feed work threads);
// reports read copies of it (control thread, the metrics HTTP thread). A mutex, never
// taken by a worker.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace sinkhole::feeds {

struct ListFeedState {
  std::string source;   // "rpz", "http", "file", "push", "override"
  std::string origin;   // the primary or URL
  std::string version;  // of the copy serving ("serial 7", "etag \"x\"")
  // Of the copy the feed staged (`updates: stage`, list stage --from-feed), waiting for
  // sinkholectl list promote; "" when none.
  std::string staged_version;
  std::optional<uint32_t> serial;
  uint64_t entries = 0;
  int64_t last_attempt_ms = 0;  // unix ms; 0 = never
  int64_t last_success_ms = 0;  // the last attempt that ended with the source's copy serving
  std::string last_error;       // "" after a success
  uint64_t failures = 0;        // attempts that failed, since start
  uint64_t refused = 0;         // candidates the build refused (list guard, parse)
  // The last change: when it was seen (NOTIFY, new ETag, push) and when the generation
  // holding it started serving; time to enforce = enforced - seen.
  int64_t seen_ms = 0;
  int64_t enforced_ms = 0;
  std::string state;  // the feed's own word: "ok", "refreshing", "retrying", "expired", …
  // Fetch outcomes since start (HTTP sources, resolver/feeds/http_feed.cc;
  // sinkholed_list_fetches_total): new content offered to a build, nothing new (304, or
  // the bytes already serving), failed (HTTP error, DNS, TLS, timeout, over max_bytes).
  uint64_t fetch_downloaded = 0;
  uint64_t fetch_not_modified = 0;
  uint64_t fetch_failed = 0;
  // RPZ secondary (rpz_feed.cc): failed transfers by reason ("tsig", "timeout",
  // "truncated", "inconsistent", "refused", "network", "too_big", "malformed"), and the SOA
  // expire state (`dropped`: on_expire: drop took the list out of service).
  std::map<std::string, uint64_t> failure_reasons;
  bool expired = false;
  bool dropped = false;
};

class FeedStatus {
 public:
  // Calls `edit` on the list's state (made on first use) under the lock.
  void update(const std::string& list, const std::function<void(ListFeedState&)>& edit) {
    std::lock_guard lock(mu_);
    edit(states_[list]);
  }
  void erase(const std::string& list) {
    std::lock_guard lock(mu_);
    states_.erase(list);
  }
  std::map<std::string, ListFeedState> copy() const {
    std::lock_guard lock(mu_);
    return states_;
  }
  std::optional<ListFeedState> get(const std::string& list) const {
    std::lock_guard lock(mu_);
    const auto it = states_.find(list);
    if (it == states_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, ListFeedState> states_;
};

}  // namespace sinkhole::feeds
