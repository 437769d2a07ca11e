// SPDX-License-Identifier: MIT
#include "resolver/control/reloader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <memory>

#include "policy/snapshot_builder.h"
#include "resolver/config/config_diff.h"

namespace sinkhole::control {

namespace {

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct Reloader::Job {
  uv_work_t req;
  Reloader* self;
  uint64_t generation;
  bool feed = false;  // Kind::kFeed: policy::build_feed_snapshot
  std::string what;   // a feed's build: its candidates ("mic serial 5")
  int64_t requested_ms = 0;
  policy::BuildOptions options;
  policy::BuildResult result;
  std::vector<Done> done;       // the admin's reloads
  std::vector<Done> done_feed;  // a feed's or sinkholectl's copy (Kind::kFeed)
};

Reloader::Reloader(uv_loop_t* loop, std::string config_path, policy::SnapshotHolder& holder,
                   metrics::BlockStats* stats)
    : loop_(loop),
      path_(std::move(config_path)),
      holder_(holder),
      next_generation_(holder.generation() + 1),
      stats_(stats) {}

void Reloader::request(Done done, bool force, Kind kind) {
  if (requested_ms_ == 0) requested_ms_ = now_unix_ms();
  if (done) (kind == Kind::kReload ? waiting_ : waiting_feed_).push_back(std::move(done));
  if (force) waiting_force_ = true;
  if (kind == Kind::kReload) waiting_reload_ = true;
  due_ = true;
  if (!running_) start();
}

void Reloader::start() {
  running_ = true;
  due_ = false;
  auto* job = new Job{};
  job->self = this;
  job->generation = next_generation_++;
  // A snapshot without its configuration text (built from a bare tree) cannot be the start
  // of a feed's build: read the file then, as a reload does.
  job->feed = !waiting_reload_ && holder_.current()->config_text;
  waiting_reload_ = false;
  job->requested_ms = requested_ms_ ? requested_ms_ : now_unix_ms();
  requested_ms_ = 0;
  job->done = std::move(waiting_);
  waiting_.clear();
  job->done_feed = std::move(waiting_feed_);
  waiting_feed_.clear();
  job->options.force = waiting_force_;
  waiting_force_ = false;
  job->options.serving = holder_.current();
  job->options.serving_entries = policy::entries_by_list(*job->options.serving);
  job->options.state_dir = state_dir;
  if (candidates) job->options.candidates = candidates();
  if (stage_candidates) job->options.stage_candidates = stage_candidates();
  job->options.staged_tallies = policy::staged_tallies(*holder_.current());
  job->req.data = job;
  if (job->feed) {
    for (const auto& [list, path] : job->options.candidates) {
      if (!job->what.empty()) job->what += ", ";
      job->what += describe_candidate ? describe_candidate(list) : list;
    }
    if (job->what.empty()) job->what = "no new copy";
    spdlog::info(
        "feed build: {}: building generation {} from generation {} (reading only the "
        "candidates)",
        job->what, job->generation, holder_.generation());
  } else {
    spdlog::debug(
        "reload: building generation {} from {} on the reload thread (generation {} "
        "serves meanwhile{})",
        job->generation, path_, holder_.generation(),
        job->options.force ? "; --force: the list guard's refusals are overridden" : "");
  }
  if (on_started) on_started();
  uv_queue_work(
      loop_, &job->req,
      [](uv_work_t* req) {
        auto* j = static_cast<Job*>(req->data);
        // Nice 10: when every core serves queries, the build gets about a tenth of a core,
        // so it still finishes (a regulator's list must be enforced) while workers keep
        // most of their CPU. SCHED_IDLE was measured too: p99 2.8 ms instead of 4.0 ms
        // during 20 reloads (perf/RESULTS.md), but a busy machine starved it (a 1M-name
        // reload took 35 s, and test reloads timed out under a parallel test run).
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
        try {
          j->result = j->feed
                          ? policy::build_feed_snapshot(j->generation, j->self->stats_, j->options)
                          : policy::build_snapshot_from_file(j->self->path_, j->generation,
                                                             j->self->stats_, j->options);
        } catch (const std::exception& e) {  // bad_alloc outside a list, say
          j->result = policy::BuildResult{};
          j->result.errors.push_back(
              fmt::format("{}: building the policy failed: {}", j->self->path_, e.what()));
        }
        malloc_trim(0);  // hand the build's scratch memory back before the next one
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<Job> j(static_cast<Job*>(req->data));
        j->self->finished(*j);
      });
}

void Reloader::finished(Job& job) {
  running_ = false;
  auto& r = job.result;
  Outcome out;
  out.feed = job.feed;
  const std::string kind = job.feed ? fmt::format("feed build: {}", job.what) : "reload";
  out.seconds = r.seconds;
  out.warnings = r.warnings;
  out.warnings.insert(out.warnings.end(), r.findings.begin(), r.findings.end());
  // The summaries and checks first, then the rejected lines: at most 20 lines in all.
  constexpr size_t kShown = 20;
  const size_t total = out.warnings.size() + r.details.size();
  for (size_t i = 0; i < total && i < kShown; ++i)
    spdlog::warn("{}: {}", kind,
                 i < out.warnings.size() ? out.warnings[i] : r.details[i - out.warnings.size()]);
  if (total > kShown) spdlog::warn("{}: {} more warnings", kind, total - kShown);
  if (!r.snapshot) {
    out.message = r.errors.empty() ? "unknown error" : r.errors.front();
    std::vector<observe::ReloadStatus::ListFailure> lists;
    for (const auto& f : r.refusals) lists.push_back({f.list, f.reason, f.message});
    // A feed's build is not the admin's reload: its refusals are counted by list, and the
    // reload status (sinkholed_last_reload_ok) keeps saying how the last reload went.
    if (job.feed)
      status_.record_list_refusals(lists);
    else
      status_.record_failure(out.message, lists);
    for (const auto& e : r.errors) spdlog::error("{} failed: {}", kind, e);
    spdlog::error("{} failed: keeping generation {} in service", kind, holder_.generation());
  } else if (!stopped_) {
    if (job.options.force) spdlog::warn("reload: forced (sinkholectl reload --force)");
    if (spdlog::should_log(spdlog::level::debug))
      for (const auto& l : r.snapshot->lists)
        spdlog::debug("reload: list {} ({}, {}): {} entries, {} rules, {} rejected lines", l.name,
                      blocklist::to_string(l.format), l.path, l.stats.entries, l.stats.rules,
                      l.stats.rejects.size());
    spdlog::debug(
        "reload: publishing generation {} (built in {:.3f} s); each worker switches "
        "at its next query, the old snapshot is freed once none holds it",
        job.generation, r.seconds);
    out.previous = holder_.current();
    holder_.publish(std::move(r.snapshot));
    Applied applied;
    // A feed's build parsed the configuration in service, not the file: nothing to apply.
    if (job.feed)
      status_.record_feed_build(out.warnings);
    else {
      if (apply_config && r.config) applied = apply_config(std::move(r.config));
      status_.record_success(r.seconds, out.warnings, applied.restart_required);
    }
    for (const auto& n : r.notices) spdlog::info("{}: {}", kind, n);
    out.ok = true;
    out.message = r.summary;
    out.applied = applied.live;
    out.restart_required = applied.restart_required;
    spdlog::info("{}: generation {} in service: {} ({:.3f} s)", kind, job.generation, r.summary,
                 r.seconds);
    if (!applied.live.empty()) spdlog::info("reload: applied {}", config::join_keys(applied.live));
    if (!applied.restart_required.empty())
      spdlog::warn("reload: restart required to apply {} (the old values stay in force)",
                   config::join_keys(applied.restart_required));
    if (on_published && !job.feed) on_published();
  }
  out.generation = holder_.generation();
  for (const auto& [list, path] : job.options.candidates) out.candidates.push_back(list);
  out.refusals = r.refusals;
  out.requested_ms = job.requested_ms;
  if (out.ok) out.superseded_pushes = r.superseded_pushes;
  if (on_built && !stopped_) on_built(out);
  if (on_finished && !stopped_) on_finished(out);
  // A failed reload (a broken file) must not hold back the feeds' copies waiting, nor a
  // push or an emergency block that joined it: they are built next from the snapshot
  // serving, and those requests are answered by that build. It reads no file but the
  // copies, so it cannot fail the same way, and a feed's failed build is not followed up
  // (no loop).
  const bool follow_up = !stopped_ && !job.feed && !out.ok && holder_.current()->config_text &&
                         (!job.done_feed.empty() || (candidates && !candidates().empty()));
  if (follow_up) {
    for (auto& d : job.done_feed) waiting_feed_.push_back(std::move(d));
    job.done_feed.clear();
    due_ = true;  // a feed's build: waiting_reload_ stays as the callbacks leave it
    if (requested_ms_ == 0) requested_ms_ = job.requested_ms;
  }
  for (auto& d : job.done)
    if (d) d(out);
  for (auto& d : job.done_feed)
    if (d) d(out);
  if (stopped_ || running_) return;  // running_: a callback asked for a build and it started
  if (follow_up)
    spdlog::warn(
        "reload failed: the feeds' and sinkholectl's waiting copies are built from "
        "generation {}",
        holder_.generation());
  if (due_) start();
}

}  // namespace sinkhole::control
