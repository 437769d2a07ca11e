// SPDX-License-Identifier: MIT
#include "resolver/feeds/feed_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "policy/list_copies.h"
#include "resolver/feeds/feed_base.h"
#include "util/log_escape.h"

namespace sinkhole::feeds {

namespace {

// Where a feed list's copy comes from, as `sinkholectl lists` shows it: the URL, or the
// first primary (the one asked first).
std::string feed_origin(const policy::ListSource& src) {
  if (src.kind == policy::ListSource::Kind::kHttp) return src.http.url;
  return src.rpz.primaries.empty() ? "" : src.rpz.primaries.front().to_string();
}

}  // namespace

FeedManager::FeedManager(uv_loop_t* loop, std::string state_dir, std::string audit_log_path)
    : loop_(loop), store_(std::move(state_dir)), audit_(std::move(audit_log_path)) {
  ctx_.loop = loop_;
  ctx_.store = &store_;
  ctx_.status = &status_;
  ctx_.audit = &audit_;
  ctx_.threads = &threads_;
  notify_async_ = new uv_async_t;
  notify_async_->data = this;
  uv_async_init(loop_, notify_async_,
                [](uv_async_t* a) { static_cast<FeedManager*>(a->data)->drain_notices(); });
}

FeedManager::~FeedManager() {
  stop();
}

void FeedManager::stop(std::chrono::milliseconds bound) {
  for (auto& [name, r] : feeds_)
    if (r.feed) r.feed->stop();
  feeds_.clear();
  // The stopped feeds cancelled their work; also the threads of feeds replaced earlier.
  const auto t0 = std::chrono::steady_clock::now();
  const size_t running = threads_.size();
  if (const size_t left = threads_.stop(bound); left > 0)
    spdlog::warn("{} feed thread(s) still running after {} ms: left behind", left, bound.count());
  else if (running > 0)
    spdlog::info("feed threads ended ({} in {:.3f} s)", running,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (notify_async_) {
    std::lock_guard lock(notify_mu_);
    uv_close(reinterpret_cast<uv_handle_t*>(notify_async_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
    notify_async_ = nullptr;
  }
}

void FeedManager::notify(const std::string& zone, const std::string& from) {
  std::lock_guard lock(notify_mu_);
  if (!notify_async_) return;
  notices_.push_back({zone, from, unix_now_ms()});
  uv_async_send(notify_async_);
}

void FeedManager::drain_notices() {
  std::vector<Notice> got;
  {
    std::lock_guard lock(notify_mu_);
    got.swap(notices_);
  }
  for (const auto& n : got) {
    for (auto& [name, r] : feeds_) {
      if (r.source.kind != policy::ListSource::Kind::kRpz || !r.feed) continue;
      if (r.source.rpz.zone.size() != n.zone.size() ||
          !std::equal(n.zone.begin(), n.zone.end(), r.source.rpz.zone.begin(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        continue;
      spdlog::info("list {}: NOTIFY from {}", util::escape_for_log(name, 120), n.from);
      status_.update(name, [&](ListFeedState& s) { s.seen_ms = n.seen_ms; });
      r.feed->notified(n.seen_ms);
    }
  }
}

void FeedManager::set_dropped(const std::string& list, bool dropped) {
  if (dropped ? dropped_.insert(list).second : dropped_.erase(list) > 0) {
    if (request_build) request_build();
  }
}

bool FeedManager::current_feed(const std::string& list, uint64_t generation) const {
  const auto it = feeds_.find(list);
  if (it != feeds_.end() && it->second.generation == generation) return true;
  spdlog::warn("list {}: a replaced feed offered a copy: ignored", util::escape_for_log(list, 120));
  return false;
}

Feed* FeedManager::feed(const std::string& list) {
  const auto it = feeds_.find(list);
  return it == feeds_.end() ? nullptr : it->second.feed.get();
}

void FeedManager::reconcile(const policy::PolicySnapshot& snap) {
  std::set<std::string> wanted;
  for (const auto& l : snap.lists) {
    if (!l.source.is_feed()) continue;
    wanted.insert(l.name);
    auto it = feeds_.find(l.name);
    if (it != feeds_.end() && it->second.source.kind == l.source.kind &&
        it->second.source == l.source)
      continue;
    if (it != feeds_.end() && it->second.source.kind == l.source.kind && it->second.feed) {
      // Same kind, other settings: the feed decides what it can change in place.
      it->second.source = l.source;
      it->second.feed->reconfigure(l);
      // The report shows the new primary or URL from this reload on, not the old one.
      status_.update(l.name, [&](ListFeedState& st) { st.origin = feed_origin(l.source); });
      continue;
    }
    if (it != feeds_.end()) {
      if (it->second.feed) it->second.feed->stop();
      feeds_.erase(it);
      finish_stage(l.name, {false, false, "", "the list's source changed at a reload"});
    }
    dropped_.erase(l.name);
    // A candidate left by a crash or by the source this list had before is not this
    // feed's: it starts from the copy serving.
    store_.remove(l.name, policy::kCopyCandidate);
    offered_.erase(l.name);
    staging_.erase(l.name);
    status_.update(l.name, [&](ListFeedState& s) {
      s.source = policy::source_name(l.source.kind);
      s.origin = feed_origin(l.source);
      s.entries = l.stats.entries;
      s.staged_version = feed_staged_version(l.name, l.source);
      if (const auto m = store_.meta(l.name, policy::kCopyCurrent)) {
        s.version = m->version;
        s.serial = m->serial;
      }
    });
    const uint64_t gen = ++next_generation_;
    auto ctx = std::make_unique<FeedContext>(ctx_);
    ctx->offer = [this, gen](const std::string& list, bool stage) {
      if (current_feed(list, gen)) offer(list, true, stage);
    };
    ctx->drop = [this, gen](const std::string& list, bool dropped) {
      if (current_feed(list, gen)) set_dropped(list, dropped);
    };
    std::unique_ptr<Feed> feed = make_feed ? make_feed(l, *ctx)
                                 : l.source.kind == policy::ListSource::Kind::kRpz
                                     ? make_rpz_feed(l, *ctx)
                                     : make_http_feed(l, *ctx);
    Running r{l.source, gen, std::move(ctx), std::move(feed)};
    if (r.feed) r.feed->start();
    feeds_.emplace(l.name, std::move(r));
  }
  for (auto it = feeds_.begin(); it != feeds_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    if (it->second.feed) it->second.feed->stop();
    finish_stage(it->first, {false, false, "", "the list's feed was removed at a reload"});
    offered_.erase(it->first);
    staging_.erase(it->first);
    dropped_.erase(it->first);
    status_.erase(it->first);
    it = feeds_.erase(it);
  }
}

void FeedManager::offer(const std::string& list, bool build, bool stage) {
  offered_.insert(list);
  if (stage)
    staging_.insert(list);
  else
    staging_.erase(list);
  status_.update(list, [](ListFeedState& s) { s.state = "building"; });
  if (build && request_build) request_build();
}

void FeedManager::push_superseded(const std::string& list) {
  const auto old = store_.meta(list, policy::kCopyCurrent);
  if (!old) return;
  if (const std::string err = store_.move(list, policy::kCopyCurrent, policy::kCopyPrevious);
      !err.empty()) {
    spdlog::error("list {}: {}", util::escape_for_log(list, 120), err);
    return;
  }
  AuditEvent ev;
  ev.list = list;
  ev.event = "file_changed";
  ev.source = "file";
  ev.who = "file";
  ev.old_version = old->version;
  ev.new_version = "file";
  ev.reason = "the configured file changed after the push: it serves again";
  std::string err;
  if (!audit_.append(ev, &err)) spdlog::error("audit log: {}", err);
}

std::map<std::string, std::string> FeedManager::candidates() const {
  std::map<std::string, std::string> out;
  for (const auto& list : offered_)
    if (store_.exists(list, policy::kCopyCandidate))
      out.emplace(list, store_.path(list, policy::kCopyCandidate));
  // "" = build it without a copy (BuildOptions::candidates); a new candidate wins.
  for (const auto& list : dropped_) out.emplace(list, "");
  return out;
}

std::set<std::string> FeedManager::stage_candidates() const {
  std::set<std::string> out;
  for (const auto& list : staging_)
    if (offered_.count(list) && store_.exists(list, policy::kCopyCandidate)) out.insert(list);
  return out;
}

std::string FeedManager::describe(const std::string& list) const {
  const std::string name = util::escape_for_log(list, 120);
  if (!offered_.count(list) && dropped_.count(list)) return name + " (dropped: no copy)";
  const auto meta = store_.meta(list, policy::kCopyCandidate);
  const std::string to_stage = staging_.count(list) ? " (to stage)" : "";
  if (!meta || meta->version.empty()) return name + to_stage;
  return name + " " + util::escape_for_log(meta->version, 120) + to_stage;
}

std::string FeedManager::feed_staged_version(const std::string& list,
                                             const policy::ListSource& src) const {
  if (!staged_by_feed(store_, list, policy::source_name(src.kind))) return "";
  const auto m = store_.meta(list, policy::kCopyStaged);
  return m ? m->version : "";
}

void FeedManager::staged_gone(const std::string& list) {
  status_.update(list, [](ListFeedState& s) { s.staged_version.clear(); });
}

void FeedManager::finish_stage(const std::string& list, const StageResult& r) {
  const auto it = stage_waiters_.find(list);
  if (it == stage_waiters_.end()) return;
  std::vector<StageDone> waiting = std::move(it->second);
  stage_waiters_.erase(it);
  for (auto& done : waiting)
    if (done) done(r);
}

void FeedManager::stage_from_feed(const std::string& list, StageDone done) {
  const auto it = feeds_.find(list);
  if (it == feeds_.end() || !it->second.feed) {
    done({false, false, "", "the list has no feed running"});
    return;
  }
  const policy::ListSource& src = it->second.source;
  if (src.updates == policy::ListSource::Updates::kStage) {
    // The feed keeps its newest version staged: that is the one asked for.
    if (const std::string v = feed_staged_version(list, src); !v.empty()) {
      done({true, true, v, ""});
      return;
    }
  }
  auto& waiting = stage_waiters_[list];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1) return;  // the fetch asked for already serves this one too
  if (offered_.count(list) && !staging_.count(list)) {
    finish_stage(list, {false, false, "",
                        "a new version from the feed is being installed now (updates: enforce); "
                        "try again once it serves"});
    return;
  }
  if (offered_.count(list)) return;  // a version to stage is being built: its outcome answers
  spdlog::info("list {}: sinkholectl list stage --from-feed: asking the source now",
               util::escape_for_log(list, 120));
  const bool asked = it->second.feed->fetch_to_stage([this, list](const std::string& why) {
    finish_stage(list, {false, false, "", why});
  });
  if (!asked) finish_stage(list, {false, false, "", "the feed cannot fetch now (shutting down?)"});
}

void FeedManager::build_finished(bool published, const std::vector<std::string>& read,
                                 const std::vector<policy::ListRefusal>& refused,
                                 const policy::PolicySnapshot& snap) {
  const int64_t now = unix_now_ms();
  bool refused_candidate = false;  // a copy this build read was refused (and is now gone)
  for (const auto& list : read) {
    const auto refusal = std::find_if(refused.begin(), refused.end(),
                                      [&](const policy::ListRefusal& r) { return r.list == list; });
    Feed* f = feed(list);
    if (dropped_.count(list) && !offered_.count(list)) continue;  // built pending, no copy
    if (published) dropped_.erase(list);                          // a new copy serves again
    const auto meta = store_.meta(list, policy::kCopyCandidate);
    const auto old = store_.meta(list, policy::kCopyCurrent);
    AuditEvent ev;
    ev.list = list;
    ev.source = meta ? meta->source : "";
    ev.who = meta ? meta->who : "feed";
    ev.origin = meta ? meta->origin : "";
    ev.old_version = old ? old->version : "";
    ev.new_version = meta ? meta->version : "";
    if (published && staging_.count(list)) {
      // Compiled beside the version serving (ListData::staged): held for review.
      offered_.erase(list);
      staging_.erase(list);
      const std::string err = store_.move(list, policy::kCopyCandidate, policy::kCopyStaged);
      if (!err.empty())
        spdlog::error("list {}: the staged version could not be saved: {}",
                      util::escape_for_log(list, 120), err);
      const auto it = std::find_if(snap.lists.begin(), snap.lists.end(),
                                   [&](const policy::ListData& l) { return l.name == list; });
      ev.event = "staged";
      ev.old_version = old ? old->version : "";
      if (it != snap.lists.end()) ev.entries = it->staged_entries;
      ev.reason = "held for review (sinkholectl list diff, list promote)";
      status_.update(list, [&](ListFeedState& s) {
        s.last_success_ms = now;
        s.last_error.clear();
        s.staged_version = ev.new_version;
        s.state = "staged";
      });
      spdlog::info(
          "list {}: {} {} staged beside {} ({} entries): no answer changes until sinkholectl "
          "list promote {} ({:.3f} s after the change was seen)",
          util::escape_for_log(list, 120), ev.source, util::escape_for_log(ev.new_version, 120),
          ev.old_version.empty() ? "no copy" : util::escape_for_log(ev.old_version, 120),
          ev.entries.value_or(0), util::escape_for_log(list, 120),
          meta && meta->seen_unix_ms ? (now - meta->seen_unix_ms) / 1000.0 : 0.0);
      if (f) f->candidate_done(true, "");
      finish_stage(list, {true, false, ev.new_version, ""});
    } else if (published) {
      offered_.erase(list);
      staging_.erase(list);
      const std::string err = store_.promote_candidate(list);
      if (!err.empty())  // serving, but a restart would read the old copy: say so loudly
        spdlog::error("list {}: the new copy serves but could not be saved: {}",
                      util::escape_for_log(list, 120), err);
      const auto it = std::find_if(snap.lists.begin(), snap.lists.end(),
                                   [&](const policy::ListData& l) { return l.name == list; });
      ev.event = "installed";
      if (it != snap.lists.end()) ev.entries = it->stats.entries;
      status_.update(list, [&](ListFeedState& s) {
        s.last_success_ms = now;
        s.last_error.clear();
        s.version = ev.new_version;
        if (meta) s.serial = meta->serial;
        if (it != snap.lists.end()) s.entries = it->stats.entries;
        s.seen_ms = meta && meta->seen_unix_ms ? meta->seen_unix_ms : now;
        s.enforced_ms = now;
        s.state = "ok";
        // A promoted staged version is this candidate: the staged slot is empty now.
        if (!store_.exists(list, policy::kCopyStaged)) s.staged_version.clear();
      });
      spdlog::info("list {}: {} {} serving (was {}; {:.3f} s after the change was seen)",
                   util::escape_for_log(list, 120), ev.source,
                   util::escape_for_log(ev.new_version, 120),
                   ev.old_version.empty() ? "none" : util::escape_for_log(ev.old_version, 120),
                   meta && meta->seen_unix_ms ? (now - meta->seen_unix_ms) / 1000.0 : 0.0);
      if (f) f->candidate_done(true, "");
    } else if (refusal != refused.end()) {
      refused_candidate = true;
      offered_.erase(list);
      const bool to_stage = staging_.erase(list) > 0;
      store_.remove(list, policy::kCopyCandidate);
      ev.event = "refused";
      ev.reason = refusal->message;
      status_.update(list, [&](ListFeedState& s) {
        s.last_error = refusal->message;
        ++s.refused;
        ++s.failures;
        s.state = "refused";
      });
      spdlog::error("list {}: new {} refused, the copy serving stays: {}",
                    util::escape_for_log(list, 120), util::escape_for_log(ev.new_version, 120),
                    refusal->message);
      if (f) f->candidate_done(false, refusal->message);
      if (to_stage)
        finish_stage(list, {false, false, "",
                            fmt::format("{} refused by the list guard (the staged copy is "
                                        "unchanged): {}",
                                        ev.new_version, refusal->message)});
    } else {
      // The build failed elsewhere: the candidate waits for the next one (offered_ kept).
      status_.update(list, [](ListFeedState& s) {
        s.state = "waiting";
        s.last_error = "the reload failed; the new copy waits for the next one";
      });
      continue;
    }
    std::string err;
    if (!audit_.append(ev, &err)) spdlog::error("audit log: {}", err);
  }
  // A refusal fails the whole build, so the other candidates it read wait; without the
  // refused ones the next build differs, so ask for it now instead of at the next offer.
  // Only then: a refused *file* list stays refused in the next reload too (a feed's build
  // does not read it, and the Reloader follows a failed reload with one by itself).
  if (!published && refused_candidate && !candidates().empty() && request_build) request_build();
}

}  // namespace sinkhole::feeds
