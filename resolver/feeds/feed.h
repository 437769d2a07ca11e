// SPDX-License-Identifier: MIT
// Feed: what keeps one list's copy up to date from its source (an RPZ primary: rpz_feed.h;
// a URL: http_feed.h). A feed fetches off the control loop (its own work thread or libuv's
// pool, with timeouts and size limits), writes what it got as the list's *candidate* copy
// (ListStore::write(list, kCopyCandidate, …)) and calls FeedContext::offer. The feed manager
// then asks for a build that reads the candidate in place of the copy serving, so the list
// guard and every other check of a reload apply to it unchanged; candidate_done tells the
// feed whether it now serves (and was promoted to `current`) or was refused (and deleted).
// A feed offers at most one candidate at a time. With `updates: stage` and a copy serving
// (the first copy is enforced: fail closed), or for one fetch
// that sinkholectl list stage --from-feed asked for) it offers it *to stage*: the same build
// and list guard, but a published candidate becomes the list's `staged` copy, compiled and
// tallied beside the one serving, and the feed's next fetch starts from it (feed_base.h).
// Control thread, except where a method says otherwise.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "policy/snapshot.h"
#include "resolver/feeds/audit_log.h"
#include "resolver/feeds/feed_status.h"
#include "resolver/feeds/feed_threads.h"
#include "resolver/feeds/list_store.h"

namespace sinkhole::feeds {

struct FeedContext {
  uv_loop_t* loop = nullptr;  // the control loop
  const ListStore* store = nullptr;
  FeedStatus* status = nullptr;
  AuditLog* audit = nullptr;
  // A candidate copy of `list` was written: build it; `stage`: as the list's staged copy,
  // not the one serving. Control thread.
  std::function<void(const std::string& list, bool stage)> offer;
  // RPZ `on_expire: drop`: build `list` without its copy (pending, empty) from now on, or
  // again with it (false). Asks for a build. Control thread.
  std::function<void(const std::string& list, bool dropped)> drop;
  // Where the feed's fetches run: joined at shutdown (FeedManager::stop). nullptr (unit
  // tests of one feed): a detached thread.
  FeedThreads* threads = nullptr;
};

// Runs `work` on a feed work thread (ctx.threads, else detached); `cancel` ends it early.
// false: shutting down, nothing started. Throws std::system_error when no thread can be made.
inline bool start_feed_work(FeedContext& ctx, FeedThreads::Cancel cancel,
                            std::function<void()> work) {
  if (ctx.threads) return ctx.threads->spawn(std::move(cancel), std::move(work));
  std::thread(std::move(work)).detach();
  return true;
}

class Feed {
 public:
  virtual ~Feed() = default;
  // Begins fetching (at once, or from the saved copy's timers). Called once.
  virtual void start() = 0;
  // Stops timers and fetches; a transfer in flight is abandoned and offers nothing after.
  // The feed is destroyed after stop() (in-flight work must not touch it then: hold a
  // shared_ptr in the work item, or wait).
  virtual void stop() = 0;
  // The build that read this feed's candidate: published (it is `current` now) or refused
  // (`error`: the refusal; the candidate was deleted, the previous copy keeps serving).
  virtual void candidate_done(bool published, const std::string& error) = 0;
  // The list's configuration after a reload, when its source is still the same kind and
  // origin: the feed may pick up changed settings (refresh, TSIG key, limits).
  virtual void reconfigure(const policy::ListData& list) { (void)list; }
  // A NOTIFY for the list's zone came from one of its primaries at `seen_ms` (unix ms): ask
  // the source now (RPZ; others ignore it).
  virtual void notified(int64_t seen_ms) { (void)seen_ms; }
  // sinkholectl list stage --from-feed: ask the source now (an RPZ SOA/IXFR-or-AXFR check,
  // an HTTP request) and offer what is new *to stage*. When nothing is offered, `nothing`
  // is called (control thread) with why: the source failed, or has nothing newer than the
  // feed's base (feed_base.h). A fetch in flight serves the request. false: not done (no
  // such fetch for this feed, or it is shutting down); `nothing` is not called then.
  virtual bool fetch_to_stage(std::function<void(const std::string& why)> nothing) {
    (void)nothing;
    return false;
  }
};

// The feed for `list` (its ListData from the snapshot just published), by source kind.
std::unique_ptr<Feed> make_rpz_feed(const policy::ListData& list, FeedContext& ctx);
std::unique_ptr<Feed> make_http_feed(const policy::ListData& list, FeedContext& ctx);

}  // namespace sinkhole::feeds
