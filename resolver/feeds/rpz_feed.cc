// SPDX-License-Identifier: MIT
// The RPZ secondary: keeps one list's copy equal to a zone on its primaries. AXFR when there
// is no copy; from a saved copy, IXFR at once and then each time the SOA refresh timer fires
// or a NOTIFY arrives; AXFR again when the primary refuses IXFR, answers it with the whole
// zone, or its steps do not chain onto our copy. Failures retry per the SOA retry; past the
// SOA expire, `on_expire: keep` keeps serving (state "expired", an error in the log) and
// `drop` asks for a build without the list's copy. Each transfer runs on its own thread
// (xfr_client.h, bounded by deadline and size); its outcome comes back to the control loop
// through a uv_async_t. With `updates: stage` a new version is offered to stage, and the
// next IXFR asks from the serial staged (feed_base.h), so its delta applies to that copy.
// Control thread, except TransferJob::run.
#include <spdlog/spdlog.h>

#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

#include "policy/list_copies.h"
#include "resolver/feeds/feed.h"
#include "resolver/feeds/feed_base.h"
#include "resolver/feeds/soa_timers.h"
#include "resolver/feeds/xfr_apply.h"
#include "resolver/feeds/xfr_client.h"
#include "util/log_escape.h"

namespace sinkhole::feeds {

namespace {

// Without a copy (so no SOA yet), a failed first transfer is tried again this soon.
constexpr uint64_t kNoCopyRetryMs = 5000;

struct Outcome {
  enum class Kind : uint8_t { kFailed, kUpToDate, kOffered } kind = Kind::kFailed;
  std::string reason, error;
  std::string primary;
  uint32_t serial = 0;
  SoaTimers timers;
  bool full = false;  // AXFR (else IXFR)
  uint64_t records = 0;
  double seconds = 0;
  // kOffered: the candidate and its meta, written by the transfer thread only while its
  // feed is alive (a replaced feed's late transfer must not overwrite the new feed's copy).
  std::string text;
  CopyMeta meta;
};

// The SOA line the copy starts with (our canonical form): serial and timers.
bool read_copy_soa(const std::string& path, uint32_t& serial, SoaTimers& timers) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return false;
  std::istringstream f(line);
  std::string owner, ttl, cls, type, mname, rname;
  uint64_t s = 0, refresh = 0, retry = 0, expire = 0;
  if (!(f >> owner >> ttl >> cls >> type >> mname >> rname >> s >> refresh >> retry >> expire) ||
      type != "SOA")
    return false;
  serial = static_cast<uint32_t>(s);
  timers = {static_cast<uint32_t>(refresh), static_cast<uint32_t>(retry),
            static_cast<uint32_t>(expire)};
  return true;
}

// What a transfer thread needs, copied: it never touches the feed.
struct TransferJob {
  std::string list;
  policy::RpzFeedSpec spec;
  ListStore store{""};
  std::optional<uint32_t> serial;  // of the base copy (feed_base.h)
  std::string_view base_slot = policy::kCopyCurrent;
  uint64_t max_records = 0;
  int64_t seen_ms = 0;
  FeedThreads::Cancel cancel = std::make_shared<std::atomic<bool>>(false);

  Outcome run() const {
    Outcome last;
    for (const auto& primary : spec.primaries) {
      last = from(primary);
      if (last.kind != Outcome::Kind::kFailed || last.reason == "cancelled") return last;
    }
    return last;
  }

  Outcome from(const config::SocketAddress& primary) const {
    const auto t0 = std::chrono::steady_clock::now();
    XfrRequest req;
    req.primary = primary;
    req.zone = spec.zone;
    req.tsig = spec.tsig;
    req.max_records = max_records + 16;  // the SOA and NS records are not entries
    req.max_bytes = std::max<uint64_t>(uint64_t{64} << 20, max_records * 512);
    req.cancel = cancel.get();
    Outcome o;
    o.primary = primary.to_string();
    const std::string base = store.path(list, base_slot);
    XfrResult r;
    std::string text;
    ApplyStats stats;
    bool have_text = false;
    if (serial && store.exists(list, base_slot)) {
      req.ixfr_from = serial;
      r = transfer(req);
      if (r.kind == XfrResult::Kind::kIncremental) {
        std::ifstream in(base);
        std::string err;
        if (in && apply_ixfr(in, r.soa_line, r.deltas, text, stats, &err)) {
          have_text = true;
        } else {
          spdlog::warn("list {}: IXFR from {} does not apply to our copy ({}): AXFR",
                       util::escape_for_log(list, 120), o.primary, err);
          r.kind = XfrResult::Kind::kFailed;
          r.reason = "inconsistent";
        }
      }
      const bool fall_back =
          r.kind == XfrResult::Kind::kFailed &&
          (r.ixfr_refused || r.reason == "inconsistent" || r.reason == "malformed");
      if (fall_back) {
        spdlog::info("list {}: IXFR from {} failed ({}): AXFR", util::escape_for_log(list, 120),
                     o.primary, r.error.empty() ? r.reason : r.error);
        req.ixfr_from.reset();
        r = transfer(req);
      }
    } else {
      r = transfer(req);
    }
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    o.serial = r.serial;
    o.timers = r.timers;
    switch (r.kind) {
      case XfrResult::Kind::kFailed:
        o.reason = r.reason;
        o.error = fmt::format("transfer from {}: {}", o.primary, r.error);
        return o;
      case XfrResult::Kind::kUpToDate:
        o.kind = Outcome::Kind::kUpToDate;
        return o;
      case XfrResult::Kind::kFull:
        text = std::move(r.zone_text);
        o.full = true;
        o.records = r.records;
        break;
      case XfrResult::Kind::kIncremental:
        o.records = stats.records;
        break;
    }
    (void)have_text;
    o.meta.source = "rpz";
    o.meta.who = "feed";
    o.meta.origin = o.primary;
    o.meta.version = fmt::format("serial {}", r.serial);
    o.meta.serial = r.serial;
    o.meta.bytes = text.size();
    o.meta.seen_unix_ms = seen_ms;
    o.text = std::move(text);
    o.kind = Outcome::Kind::kOffered;
    return o;
  }

  // Saves an offered outcome's candidate; when it cannot be, `o` fails with reason "store".
  void save(Outcome& o) const {
    if (o.kind != Outcome::Kind::kOffered) return;
    if (auto err = store.write(list, policy::kCopyCandidate, o.text, o.meta); !err.empty()) {
      o.kind = Outcome::Kind::kFailed;
      o.reason = "store";
      o.error = err;
    }
    o.text = std::string();
  }
};

class RpzFeed final : public Feed {
 public:
  RpzFeed(const policy::ListData& l, FeedContext& ctx)
      : list_(l.name),
        spec_(l.source.rpz),
        stage_(l.source.updates == policy::ListSource::Updates::kStage),
        max_entries_(l.limits.max_entries),
        ctx_(ctx) {}

  ~RpzFeed() override { stop(); }

  void start() override {
    open();
    if (const auto m = ctx_.store->meta(list_, policy::kCopyCurrent);
        ctx_.store->exists(list_, policy::kCopyCurrent)) {
      uint32_t s = 0;
      if (read_copy_soa(ctx_.store->path(list_, policy::kCopyCurrent), s, timers_)) {
        serial_ = m && m->serial ? *m->serial : s;
        last_ok_ms_ = m ? m->written_unix_ms : unix_now_ms();
      }
    }
    begin();  // AXFR without a copy, else IXFR from the copy's serial at once
  }

  void stop() override {
    if (!channel_) return;
    if (cancel_) cancel_->store(true);  // a transfer in flight ends at its next wait
    {
      // Waits for a candidate being written: after this, the thread writes nothing.
      std::lock_guard lock(channel_->mu);
      channel_->alive = false;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(channel_->async),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
    uv_close(reinterpret_cast<uv_handle_t*>(timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    channel_.reset();
    cancel_.reset();
    timer_ = nullptr;
    running_ = false;
  }

  void candidate_done(bool published, const std::string& error) override {
    // A build of a copy this feed did not offer (a push, a promoted staged version): the
    // next fetch reads its base again (begin); the timers run on.
    if (!offered_) return;
    offered_ = false;
    if (published) {
      serial_ = offered_serial_;
      zone_changed_ = false;
    } else {
      spdlog::error("list {}: serial {} refused: {}", util::escape_for_log(list_, 120),
                    offered_serial_, error);
    }
    after_attempt(published ? refresh_delay_ms(timers_) : retry_delay_ms(timers_));
  }

  void reconfigure(const policy::ListData& l) override {
    const policy::RpzFeedSpec& next = l.source.rpz;
    const bool origin_changed =
        next.primaries != spec_.primaries || next.zone != spec_.zone || next.tsig != spec_.tsig;
    if (next.zone != spec_.zone) {  // another zone: AXFR next
      serial_.reset();
      zone_changed_ = true;
    }
    spec_ = next;
    stage_ = l.source.updates == policy::ListSource::Updates::kStage;
    max_entries_ = l.limits.max_entries;
    // Another primary, zone or key: a transfer in flight under the old ones is abandoned
    // (its copy must not be offered now), and the new primaries are asked at once. A
    // candidate already waiting for its build is left to it (candidate_done asks next).
    if (origin_changed && channel_ && !offered_) {
      stop();
      open();
      begin();
    }
  }

  bool fetch_to_stage(std::function<void(const std::string& why)> nothing) override {
    if (!channel_) return false;
    stage_next_ = true;
    stage_nothing_ = std::move(nothing);
    if (running_) return true;  // the transfer in flight answers it
    pending_seen_ms_ = unix_now_ms();
    begin();
    return true;
  }

  void notified(int64_t seen_ms) override {
    if (!channel_) return;
    if (busy()) {
      notify_pending_ = true;
      if (!pending_seen_ms_) pending_seen_ms_ = seen_ms;
      return;
    }
    pending_seen_ms_ = seen_ms;
    begin();
  }

 private:
  struct Channel {
    std::mutex mu;
    bool alive = true;
    uv_async_t* async = nullptr;
    std::optional<Outcome> outcome;
  };

  bool busy() const { return running_ || offered_; }

  // The loop handles: a transfer's outcome comes back through `channel_`.
  void open() {
    channel_ = std::make_shared<Channel>();
    channel_->async = new uv_async_t;
    channel_->async->data = this;
    uv_async_init(ctx_.loop, channel_->async,
                  [](uv_async_t* a) { static_cast<RpzFeed*>(a->data)->on_outcome(); });
    timer_ = new uv_timer_t;
    uv_timer_init(ctx_.loop, timer_);
    timer_->data = this;
  }

  // The serial the next IXFR asks from: of the copy fetched last (feed_base.h).
  void read_base() {
    if (zone_changed_) return;  // the copies are of the old zone: AXFR
    const FeedBase b = feed_base(*ctx_.store, list_, "rpz", stage_);
    base_slot_ = b.slot;
    uint32_t s = 0;
    SoaTimers t;
    if (ctx_.store->exists(list_, b.slot) && read_copy_soa(ctx_.store->path(list_, b.slot), s, t))
      serial_ = b.meta && b.meta->serial ? *b.meta->serial : s;
  }

  void begin() {
    uv_timer_stop(timer_);
    read_base();
    running_ = true;
    const int64_t now = unix_now_ms();
    ctx_.status->update(list_, [&](ListFeedState& s) {
      s.last_attempt_ms = now;
      s.state = "refreshing";
    });
    TransferJob job;
    job.list = list_;
    job.spec = spec_;
    job.store = *ctx_.store;
    job.serial = serial_;
    job.base_slot = zone_changed_ ? policy::kCopyCurrent : base_slot_;
    job.max_records = max_entries_;
    job.seen_ms = pending_seen_ms_ ? pending_seen_ms_ : now;
    pending_seen_ms_ = 0;
    notify_pending_ = false;
    cancel_ = job.cancel;
    auto work = [job = std::move(job), ch = channel_] {
      Outcome o = job.run();
      std::lock_guard lock(ch->mu);
      if (!ch->alive) return;  // stopped (shutdown, or replaced at a reload): offers nothing
      job.save(o);
      ch->outcome = std::move(o);
      uv_async_send(ch->async);
    };
    try {
      if (!start_feed_work(ctx_, cancel_, std::move(work))) running_ = false;  // shutting down
    } catch (const std::system_error& e) {
      running_ = false;
      spdlog::error("list {}: cannot start a transfer thread: {}", util::escape_for_log(list_, 120),
                    e.what());
      after_attempt(retry_delay_ms(timers_));
    }
  }

  void on_outcome() {
    std::optional<Outcome> got;
    {
      std::lock_guard lock(channel_->mu);
      got.swap(channel_->outcome);
    }
    if (!got) return;
    running_ = false;
    const Outcome& o = *got;
    const int64_t now = unix_now_ms();
    if (o.kind != Outcome::Kind::kFailed) {
      timers_ = o.timers;
      last_ok_ms_ = now;
      expired_warned_ = false;
      if (dropped_) {  // the primary answers again: the saved copy applies again
        dropped_ = false;
        ctx_.status->update(list_, [](ListFeedState& s) {
          s.expired = false;
          s.dropped = false;
        });
        if (ctx_.drop) ctx_.drop(list_, false);
      }
    }
    switch (o.kind) {
      case Outcome::Kind::kFailed: {
        ctx_.status->update(list_, [&](ListFeedState& s) {
          ++s.failures;
          ++s.failure_reasons[o.reason];
          s.last_error = o.error;
          s.state = "retrying";
        });
        spdlog::warn("list {}: {}", util::escape_for_log(list_, 120),
                     util::escape_for_log(o.error, 300));
        const bool have_copy = serial_.has_value();
        if (have_copy && soa_expired(timers_, last_ok_ms_, now)) expire();
        not_staged("the feed is unreachable: " + o.error);
        after_attempt(have_copy ? retry_delay_ms(timers_) : kNoCopyRetryMs);
        return;
      }
      case Outcome::Kind::kUpToDate:
        ctx_.status->update(list_, [&](ListFeedState& s) {
          s.last_success_ms = now;
          s.last_error.clear();
          s.state = "ok";
        });
        not_staged(fmt::format("nothing newer on the primary than serial {} (the version {})",
                               o.serial, base_slot_ == policy::kCopyStaged ? "staged" : "serving"));
        after_attempt(refresh_delay_ms(timers_));
        return;
      case Outcome::Kind::kOffered:
        spdlog::info("list {}: {} of serial {} from {} ({} records, {:.3f} s)",
                     util::escape_for_log(list_, 120), o.full ? "AXFR" : "IXFR", o.serial,
                     o.primary, o.records, o.seconds);
        offered_ = true;
        offered_serial_ = o.serial;
        {
          // The first copy of a list with none serving is enforced even under `updates:
          // stage`: nothing serves to review it against, and a node with an empty state
          // directory must not stay without the list (fail closed) until a promote.
          const bool stage =
              stage_next_ || (stage_ && ctx_.store->exists(list_, policy::kCopyCurrent));
          stage_next_ = false;
          stage_nothing_ = nullptr;  // the build's outcome answers it (the feed manager)
          ctx_.offer(list_, stage);
        }
        return;
    }
  }

  // A --from-feed request ends without a version to stage.
  void not_staged(const std::string& why) {
    stage_next_ = false;
    if (auto nothing = std::move(stage_nothing_)) {
      stage_nothing_ = nullptr;
      nothing(why);
    }
  }

  void expire() {
    if (expired_warned_) return;
    expired_warned_ = true;
    const bool drop = spec_.on_expire == policy::RpzFeedSpec::OnExpire::kDrop;
    spdlog::error(
        "list {}: the copy (serial {}) has EXPIRED: no answer from its primaries for {} s "
        "(SOA expire); {}",
        util::escape_for_log(list_, 120), serial_ ? *serial_ : 0, expire_ms(timers_) / 1000,
        drop ? "on_expire: drop — the list stops applying" : "still serving it (on_expire: keep)");
    ctx_.status->update(list_, [&](ListFeedState& s) {
      s.state = "expired";
      s.expired = true;
      s.dropped = drop;
    });
    if (drop && ctx_.drop) {
      dropped_ = true;
      ctx_.drop(list_, true);
    }
  }

  void after_attempt(uint64_t delay_ms) {
    if (!timer_) return;
    if (notify_pending_) {  // a NOTIFY came while busy: ask again now
      begin();
      return;
    }
    uv_timer_start(
        timer_, [](uv_timer_t* t) { static_cast<RpzFeed*>(t->data)->begin(); }, delay_ms, 0);
  }

  std::string list_;
  policy::RpzFeedSpec spec_;
  bool stage_;  // updates: stage
  size_t max_entries_;
  FeedContext& ctx_;
  std::shared_ptr<Channel> channel_;
  FeedThreads::Cancel cancel_;  // of the transfer in flight
  uv_timer_t* timer_ = nullptr;
  std::optional<uint32_t> serial_;  // of the base copy (feed_base.h)
  std::string_view base_slot_ = policy::kCopyCurrent;
  bool zone_changed_ = false;  // at a reload, until a copy of the new zone is built
  // sinkholectl list stage --from-feed: stage the next version; `stage_nothing_` answers
  // when the fetch offers none.
  bool stage_next_ = false;
  std::function<void(const std::string&)> stage_nothing_;
  SoaTimers timers_;
  int64_t last_ok_ms_ = 0;  // the last time a primary answered
  bool running_ = false, offered_ = false, notify_pending_ = false, expired_warned_ = false;
  bool dropped_ = false;  // on_expire: drop took the list out of service
  uint32_t offered_serial_ = 0;
  int64_t pending_seen_ms_ = 0;
};

}  // namespace

std::unique_ptr<Feed> make_rpz_feed(const policy::ListData& list, FeedContext& ctx) {
  return std::make_unique<RpzFeed>(list, ctx);
}

}  // namespace sinkhole::feeds
