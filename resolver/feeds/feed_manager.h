// SPDX-License-Identifier: MIT
// FeedManager: one Feed per feed list of the snapshot serving (started, replaced when the
// list's source changes at a reload, stopped when the list goes), and the bridge between
// feeds and reloads: a feed's candidate copy is handed to the next build
// (Reloader::candidates), and after the build it is promoted to `current` (published) or
// deleted (refused by the list guard: the copy serving stays), with the list's status,
// time to enforce and an audit line. The build a feed asks for (request_build) is a feed's
// build: from the snapshot serving, reading only the candidates (Reloader::Kind::kFeed). A
// reload that failed for another reason (a broken configuration file, a refused file list)
// keeps the candidate, and the Reloader follows it with a feed's build. A candidate offered
// *to stage* (`updates: stage`, sinkholectl list stage --from-feed) goes through the same
// build and guard (BuildOptions::stage_candidates) but, published, becomes the list's
// `staged` copy instead of `current`: audited "staged", shown as the status' staged version,
// never answering until sinkholectl list promote. Control thread only.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "policy/list_guard.h"
#include "policy/snapshot.h"
#include "resolver/feeds/audit_log.h"
#include "resolver/feeds/feed.h"
#include "resolver/feeds/feed_status.h"
#include "resolver/feeds/feed_threads.h"
#include "resolver/feeds/list_store.h"

namespace sinkhole::feeds {

class FeedManager {
 public:
  FeedManager(uv_loop_t* loop, std::string state_dir, std::string audit_log_path);
  ~FeedManager();

  // Asks for a build (the server sets it: Reloader::request).
  std::function<void()> request_build;
  // Makes the feed of a list (by default by source kind: make_rpz_feed, make_http_feed);
  // unit tests put a fake here.
  std::function<std::unique_ptr<Feed>(const policy::ListData&, FeedContext&)> make_feed;

  // After every published snapshot, and once at start: feeds for new feed lists, new feeds
  // for lists whose source changed, none for lists that went.
  void reconcile(const policy::PolicySnapshot& snap);
  // The candidate copies the next build should read: list → path (Reloader::candidates).
  std::map<std::string, std::string> candidates() const;
  // Those of them to build as the list's staged copy (BuildOptions::stage_candidates).
  std::set<std::string> stage_candidates() const;
  // A candidate as a feed's build names it in its log: "mic serial 5", "mic (dropped)".
  std::string describe(const std::string& list) const;
  // After a build (Reloader::on_built): `read` the lists it read from candidates, `refused`
  // the lists the guard refused, `snap` the snapshot serving now (after a success: the new
  // one).
  void build_finished(bool published, const std::vector<std::string>& read,
                      const std::vector<policy::ListRefusal>& refused,
                      const policy::PolicySnapshot& snap);
  // Stops every feed (shutdown): transfers and downloads in flight are cancelled and their
  // threads joined, waiting at most `bound` (the rest are detached and logged).
  void stop(std::chrono::milliseconds bound = kStopBound);
  static constexpr std::chrono::milliseconds kStopBound{3000};

  // A new candidate of `list` was written (FeedContext::offer): build it. `build` false:
  // the caller asks for the build itself (sinkholectl list push waits for its outcome).
  // `stage`: as the list's staged copy (feed.h).
  void offer(const std::string& list, bool build = true, bool stage = false);

  // sinkholectl list stage --from-feed: the feed's newest version as the list's staged
  // copy. With `updates: stage` and a version the feed staged already: that one, at once.
  // Otherwise the feed fetches now (Feed::fetch_to_stage) and `done` is called once the
  // build of what it fetched ended (staged, or refused by the list guard), or at once when
  // nothing was offered (the source failed or has nothing newer: nothing is staged).
  struct StageResult {
    bool ok = false;
    bool already = false;  // the feed had staged it before this request
    std::string version;   // ok: the staged version ("serial 5", an ETag)
    std::string error;     // !ok: why nothing was staged
  };
  using StageDone = std::function<void(const StageResult&)>;
  void stage_from_feed(const std::string& list, StageDone done);
  // The staged copy of `list` is gone (promoted, or dropped by sinkholectl list unstage).
  void staged_gone(const std::string& list);
  // The configured file of a file list changed after a push, and a published build read
  // it: the pushed copy becomes `previous` (last-known-good), audited.
  void push_superseded(const std::string& list);
  // FeedContext::drop: `list` builds pending (no copy) while dropped.
  void set_dropped(const std::string& list, bool dropped);

  // A NOTIFY for `zone` (no trailing dot, any case) accepted from `from` (the worker checked
  // it against the lists' primaries and keys): the feed of that zone refreshes now. Any
  // thread (a worker): queued under a mutex, handled on the control loop.
  void notify(const std::string& zone, const std::string& from);

  ListStore& store() { return store_; }
  FeedStatus& status() { return status_; }
  AuditLog& audit() { return audit_; }
  Feed* feed(const std::string& list);

 private:
  struct Running {
    policy::ListSource source;
    uint64_t generation = 0;  // this feed's token: its context's offers carry it
    std::unique_ptr<FeedContext> ctx;
    std::unique_ptr<Feed> feed;
  };
  // FeedContext::offer/drop of the feed `generation`: ignored unless that feed is still the
  // list's (a feed replaced at a reload offers nothing more, even late).
  bool current_feed(const std::string& list, uint64_t generation) const;
  uint64_t next_generation_ = 0;
  uv_loop_t* loop_;
  ListStore store_;
  FeedStatus status_;
  AuditLog audit_;
  FeedThreads threads_;  // before ctx_ and feeds_: the feeds' threads end after them
  FeedContext ctx_;      // shared fields; each feed gets a copy with its own offer and drop
  std::map<std::string, Running> feeds_;
  std::set<std::string> offered_;  // lists with a candidate waiting for a build
  std::set<std::string> staging_;  // of those, the ones offered to stage
  std::map<std::string, std::vector<StageDone>> stage_waiters_;  // --from-feed, by list
  void finish_stage(const std::string& list, const StageResult& r);
  // The version of the copy the feed staged (status, `sinkholectl lists`), "" when none.
  std::string feed_staged_version(const std::string& list, const policy::ListSource& src) const;
  std::set<std::string> dropped_;  // lists built without their copy (on_expire: drop)
  // NOTIFYs from the workers: (zone, from, seen unix ms).
  struct Notice {
    std::string zone, from;
    int64_t seen_ms;
  };
  std::mutex notify_mu_;
  std::vector<Notice> notices_;
  uv_async_t* notify_async_ = nullptr;
  void drain_notices();
};

}  // namespace sinkhole::feeds
