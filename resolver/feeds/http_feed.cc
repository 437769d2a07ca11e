// SPDX-License-Identifier: MIT
// HttpFeed: a list whose content is a URL (`url`, `refresh`, `max_bytes`, `timeout`,
// `ca_file`). Asks at start (the saved copy, if any, already serves; it asks with that
// copy's validators), then every `refresh`: 304, or a 200 with the bytes already serving,
// changes nothing; other content becomes the list's candidate and is offered to a build
// (feed.h). A failure (HTTP error, DNS, TLS, timeout, over max_bytes) leaves the copy
// serving, is counted and logged once per change of state, and is retried after
// retry_delay_ms. Each download runs on its own thread (http_fetch.h), so neither the
// control loop nor a worker ever waits for a server; the thread hands its result back
// through a uv_async_t. With `updates: stage` new content is offered to stage, and the next
// request asks with the staged copy's validators (feed_base.h): a 304 then means nothing
// newer than the version staged. Control thread, except Download::run.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "policy/list_copies.h"
#include "resolver/feeds/feed.h"
#include "resolver/feeds/feed_base.h"
#include "resolver/feeds/http_fetch.h"
#include "util/log_escape.h"

namespace sinkhole::feeds {

namespace {

// What a download thread and its feed share. The feed may be stopped and destroyed while
// the thread still runs: then `abandoned` is set and the thread touches nothing but this.
struct Download {
  // In: set before the thread starts.
  HttpGet get;
  std::string list;
  const ListStore* store = nullptr;
  CopyMeta meta;                    // the candidate's meta, less what the response says
  HttpValidators serving, refused;  // bytes with these hashes are not new content
  bool staged_base = false;         // `serving` is the staged copy's (feed_base.h)
  std::atomic<bool> cancel{false};

  std::mutex mu;  // guards everything below, and the candidate write
  bool abandoned = false;
  uv_async_t* async = nullptr;  // the feed's; signalled under `mu` unless abandoned
  bool done = false;
  // Out.
  HttpGot got;
  enum class Result : uint8_t { kNew, kUnchanged, kStillRefused, kFailed } result{};
  std::string write_error;
  int64_t arrived_ms = 0;

  void run() {
    HttpGot g = http_get(get, cancel);
    const int64_t now = unix_now_ms();
    Result r = Result::kFailed;
    if (g.outcome == HttpGot::Outcome::kNotModified) {
      r = Result::kUnchanged;
    } else if (g.outcome == HttpGot::Outcome::kContent) {
      if (!serving.hash.empty() && g.validators.hash == serving.hash)
        r = Result::kUnchanged;
      else if (!refused.hash.empty() && g.validators.hash == refused.hash)
        r = Result::kStillRefused;
      else
        r = Result::kNew;
    }
    std::lock_guard lock(mu);
    if (abandoned || g.outcome == HttpGot::Outcome::kCancelled) return;
    if (r == Result::kNew) {
      meta.etag = g.validators.etag;
      meta.last_modified = g.validators.last_modified;
      meta.hash = g.validators.hash;
      meta.version = version_label(g.validators);
      meta.seen_unix_ms = now;
      write_error = store->write(list, policy::kCopyCandidate, g.body, meta);
      if (!write_error.empty()) r = Result::kFailed;
    }
    g.body = std::string();  // the bytes are on disk now (or refused); free them here
    got = std::move(g);
    result = r;
    arrived_ms = now;
    done = true;
    uv_async_send(async);
  }
};

class HttpFeed final : public Feed {
 public:
  HttpFeed(const policy::ListData& list, FeedContext& ctx)
      : name_(list.name),
        spec_(list.source.http),
        stage_(list.source.updates == policy::ListSource::Updates::kStage),
        ctx_(ctx) {
    if (const auto m = ctx_.store->meta(name_, policy::kCopyCurrent))
      serving_ = {m->etag, m->last_modified, m->hash};
  }
  ~HttpFeed() override { stop(); }

  void start() override {
    http_global_init();
    timer_ = new uv_timer_t;
    uv_timer_init(ctx_.loop, timer_);
    timer_->data = this;
    async_ = new uv_async_t;
    uv_async_init(ctx_.loop, async_,
                  [](uv_async_t* a) { static_cast<HttpFeed*>(a->data)->collect(); });
    async_->data = this;
    fetch();
  }

  void stop() override {
    abandon();
    if (timer_) {
      uv_timer_stop(timer_);
      uv_close(reinterpret_cast<uv_handle_t*>(timer_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
      timer_ = nullptr;
    }
    if (async_) {
      uv_close(reinterpret_cast<uv_handle_t*>(async_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
      async_ = nullptr;
    }
  }

  void candidate_done(bool published, const std::string& error) override {
    (void)error;                   // the manager logged, counted and audited it
    if (!awaiting_build_) return;  // not this feed's copy (a push, a promoted staged one)
    awaiting_build_ = false;
    if (published) {
      // Staged (not serving): the next request asks with its validators (base()).
      if (const auto cur = ctx_.store->meta(name_, policy::kCopyCurrent);
          cur && cur->hash == offered_.hash)
        serving_ = offered_;
      refused_ = {};
    } else {
      // Asked next with the refused copy's validators: while the server still has that
      // copy it answers 304 and nothing is built, audited or counted again.
      refused_ = offered_;
    }
  }

  void reconfigure(const policy::ListData& list) override {
    const policy::HttpFeedSpec old = spec_;
    spec_ = list.source.http;
    stage_ = list.source.updates == policy::ListSource::Updates::kStage;
    if (old.url != spec_.url || old.ca_file != spec_.ca_file) {
      // Another server: its validators mean nothing here (the content hash still does).
      if (old.url != spec_.url) {
        serving_.etag.clear();
        serving_.last_modified.clear();
        refused_ = {};
      }
      abandon();
      fetch();
    } else if (old.refresh_seconds != spec_.refresh_seconds && timer_ && !download_) {
      arm(uint64_t{spec_.refresh_seconds} * 1000);
    }
  }

  bool fetch_to_stage(std::function<void(const std::string& why)> nothing) override {
    if (!timer_) return false;
    stage_next_ = true;
    stage_nothing_ = std::move(nothing);
    if (download_) return true;  // the download in flight answers it
    uv_timer_stop(timer_);
    fetch();
    if (!download_ && stage_nothing_) not_staged("the download could not start");
    return true;
  }

 private:
  // The validators of the copy fetched last: the one staged (updates: stage, and the feed
  // staged one), else the one serving.
  HttpValidators base(bool* staged = nullptr) const {
    const FeedBase b = feed_base(*ctx_.store, name_, "http", stage_);
    const bool is_staged = b.slot == policy::kCopyStaged && b.meta;
    if (staged) *staged = is_staged;
    if (is_staged) return {b.meta->etag, b.meta->last_modified, b.meta->hash};
    return serving_;
  }

  void not_staged(const std::string& why) {
    stage_next_ = false;
    if (auto nothing = std::move(stage_nothing_)) {
      stage_nothing_ = nullptr;
      nothing(why);
    }
  }

  void arm(uint64_t ms) {
    if (!timer_) return;
    uv_timer_start(
        timer_, [](uv_timer_t* t) { static_cast<HttpFeed*>(t->data)->fetch(); }, ms, 0);
  }

  void abandon() {
    // Our reference goes; the thread's keeps the state (and its mutex) alive until it ends.
    const std::shared_ptr<Download> d = std::move(download_);
    if (!d) return;
    d->cancel = true;
    std::lock_guard lock(d->mu);
    d->abandoned = true;
  }

  void fetch() {
    if (download_) return;
    if (awaiting_build_) {  // one candidate at a time: ask again once it is built
      arm(uint64_t{spec_.refresh_seconds} * 1000);
      return;
    }
    auto d = std::make_shared<Download>();
    d->get.url = spec_.url;
    d->get.max_bytes = spec_.max_bytes;
    d->get.timeout_seconds = spec_.timeout_seconds;
    d->get.ca_file = spec_.ca_file;
    bool staged_base = false;
    const HttpValidators from = base(&staged_base);
    d->get.validators = refused_.empty() ? from : refused_;
    d->list = name_;
    d->store = ctx_.store;
    d->meta.source = "http";
    d->meta.who = "feed";
    d->meta.origin = spec_.url;
    d->serving = from;
    d->staged_base = staged_base;
    d->refused = refused_;
    d->async = async_;
    const int64_t now = unix_now_ms();
    ctx_.status->update(name_, [&](ListFeedState& s) {
      s.last_attempt_ms = now;
      if (s.state.empty()) s.state = "fetching";
    });
    try {
      // The cancel flag aliases the download, which the thread holds until it ends.
      if (!start_feed_work(ctx_, FeedThreads::Cancel(d, &d->cancel), [d] { d->run(); }))
        return;  // shutting down
    } catch (const std::system_error& e) {
      failed(fmt::format("cannot start a download thread: {}", e.what()), "thread");
      return;
    }
    download_ = std::move(d);
  }

  // The download thread signalled: take its result (control thread).
  void collect() {
    if (!download_) return;
    std::shared_ptr<Download> d = download_;
    HttpGot got;
    Download::Result result;
    std::string write_error;
    int64_t arrived;
    bool staged_base;
    {
      std::lock_guard lock(d->mu);
      if (!d->done) return;  // a signal of a download abandoned since
      got = std::move(d->got);
      result = d->result;
      write_error = d->write_error;
      arrived = d->arrived_ms;
      staged_base = d->staged_base;
    }
    download_.reset();
    const std::string list = util::escape_for_log(name_, 120);
    switch (result) {
      case Download::Result::kFailed:
        if (write_error.empty())
          failed(got.error, got.error_kind);
        else
          failed("cannot save the download: " + write_error, "write");
        not_staged("the feed is unreachable: " +
                   (write_error.empty() ? got.error : "cannot save the download: " + write_error));
        return;
      case Download::Result::kUnchanged:
      case Download::Result::kStillRefused: {
        const bool still_refused =
            result == Download::Result::kStillRefused || (!refused_.empty() && got.status == 304);
        if (failures_ > 0)
          spdlog::info("list {}: {} answers again ({})", list, util::escape_for_log(spec_.url, 200),
                       still_refused ? "still the copy refused" : "not modified");
        failures_ = 0;
        last_logged_error_.clear();
        // (Not when they are the staged copy's bytes: serving_ stays the copy serving's.)
        if (got.outcome == HttpGot::Outcome::kContent && !still_refused && !staged_base) {
          // The bytes serving, under new validators (or back after a refused copy): ask
          // with these next time.
          serving_.etag = got.validators.etag;
          serving_.last_modified = got.validators.last_modified;
          refused_ = {};
        }
        ctx_.status->update(name_, [&](ListFeedState& s) {
          ++s.fetch_not_modified;
          if (still_refused) {
            s.state = "refused";
          } else {
            s.last_success_ms = arrived;
            s.last_error.clear();
            s.state = "not modified";
          }
        });
        spdlog::debug("list {}: {} not modified (HTTP {})", list,
                      util::escape_for_log(spec_.url, 200), got.status);
        not_staged(still_refused
                       ? "the source still has the version the list guard refused"
                       : fmt::format("nothing newer at {} than the version {} (HTTP {})", spec_.url,
                                     staged_base ? "staged" : "serving", got.status));
        arm(uint64_t{spec_.refresh_seconds} * 1000);
        return;
      }
      case Download::Result::kNew:
        break;
    }
    if (failures_ > 0)
      spdlog::info("list {}: {} answers again", list, util::escape_for_log(spec_.url, 200));
    failures_ = 0;
    last_logged_error_.clear();
    offered_ = got.validators;
    awaiting_build_ = true;
    ctx_.status->update(name_, [&](ListFeedState& s) {
      ++s.fetch_downloaded;
      s.last_error.clear();
    });
    spdlog::info("list {}: new copy from {} ({}), building it", list,
                 util::escape_for_log(spec_.url, 200),
                 util::escape_for_log(version_label(got.validators), 120));
    arm(uint64_t{spec_.refresh_seconds} * 1000);
    // As the RPZ feed: the first copy of a list with none serving is enforced.
    const bool stage = stage_next_ || (stage_ && ctx_.store->exists(name_, policy::kCopyCurrent));
    stage_next_ = false;
    stage_nothing_ = nullptr;  // the build's outcome answers it (the feed manager)
    ctx_.offer(name_, stage);
  }

  void failed(const std::string& error, const std::string& kind) {
    ++failures_;
    const uint64_t delay = retry_delay_ms(spec_.refresh_seconds, failures_);
    ctx_.status->update(name_, [&](ListFeedState& s) {
      ++s.failures;
      ++s.fetch_failed;
      s.last_error = error;
      s.state = "retrying";
    });
    const std::string msg =
        fmt::format("list {}: {}: {}; the copy serving stays, retrying in {} s",
                    util::escape_for_log(name_, 120), util::escape_for_log(spec_.url, 200),
                    util::escape_for_log(error, 300), delay / 1000);
    // Once per change of state: a source down for a day is one line, not 1,440.
    if (kind != last_logged_error_)
      spdlog::warn("{}", msg);
    else
      spdlog::debug("{}", msg);
    last_logged_error_ = kind;
    arm(delay);
  }

  std::string name_;
  policy::HttpFeedSpec spec_;
  bool stage_;  // updates: stage
  FeedContext& ctx_;
  uv_timer_t* timer_ = nullptr;
  uv_async_t* async_ = nullptr;
  std::shared_ptr<Download> download_;  // the one in flight
  HttpValidators serving_;              // of the copy serving (from its meta)
  HttpValidators offered_;              // of the candidate waiting for its build
  HttpValidators refused_;              // of the last candidate the build refused
  bool awaiting_build_ = false;
  // sinkholectl list stage --from-feed: stage the next new content; `stage_nothing_`
  // answers when the fetch offers none.
  bool stage_next_ = false;
  std::function<void(const std::string&)> stage_nothing_;
  uint64_t failures_ = 0;          // consecutive
  std::string last_logged_error_;  // the kind of the last failure logged as a warning
};

}  // namespace

std::unique_ptr<Feed> make_http_feed(const policy::ListData& list, FeedContext& ctx) {
  return std::make_unique<HttpFeed>(list, ctx);
}

}  // namespace sinkhole::feeds
