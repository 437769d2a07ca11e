// SPDX-License-Identifier: MIT
// Reloader: rebuilds the policy snapshot and the server settings (config::Config) from the
// configuration file on libuv's thread pool and publishes them from the control thread —
// the snapshot, then at once the live settings (apply_config). Requests that arrive while a build
// runs are served by one more build after it (the files may have changed since it started). A
// failed build publishes nothing: the previous snapshot keeps serving. Each build reads the
// configuration file once (policy::build_snapshot_from_file: one YAML parse, the whole file
// validated, then the policy built from the same tree). Control thread only; the build itself runs
// on a libuv work thread, with its own Job and the BlockStats registry (which locks). The list
// guard compares each list with the snapshot serving when the build starts (entries by list name,
// taken on the control thread); the build holds that snapshot and reuses its unchanged lists. Any
// exception in a build (std::bad_alloc included) is a failed reload, never the end of the daemon.
// Two kinds of build: a reload (SIGHUP, sinkholectl, a file change: the admin's) reads the
// configuration file and every list from disk; a feed's build (Kind::kFeed: a transfer, a
// download) starts from the snapshot serving and reads only the feeds' candidates
// (policy::build_feed_snapshot), so that an admin's broken or unreloaded edit neither holds
// back nor rides along with a feed's copy. Requests of both kinds that meet make one reload.
// A failed reload is followed by a feed's build when candidates wait or a feed's request
// (a push, a block) joined it; those requests are answered by that build. ReloadStatus (the
// reload counters, last error, sinkholed_last_reload_ok) reports the admin's reloads only;
// a feed's build adds only its refused lists to the per-list refusal counts.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "policy/list_guard.h"
#include "policy/snapshot_holder.h"
#include "resolver/config/config.h"
#include "resolver/metrics/block_stats.h"
#include "resolver/observe/reload_status.h"

namespace sinkhole::control {

class Reloader {
 public:
  struct Outcome {
    // A constructor, not an aggregate: `{ok, generation, message, seconds}` stays valid
    // (and free of missing-initializer warnings) as fields are added.
    Outcome(bool ok_ = false, uint64_t generation_ = 0, std::string message_ = {},
            double seconds_ = 0, std::vector<std::string> warnings_ = {})
        : ok(ok_),
          generation(generation_),
          message(std::move(message_)),
          seconds(seconds_),
          warnings(std::move(warnings_)) {}
    bool ok = false;
    uint64_t generation = 0;  // in service after this reload
    std::string message;      // summary, or the first error
    double seconds = 0;
    // List summaries and the strict checks' findings (policy/semantic_checks.h) of this
    // build, published or not; rejected lines are only logged.
    std::vector<std::string> warnings;
    // After a success: the live settings this reload changed, and the settings (dotted
    // keys) whose new values wait for a restart (ApplyConfig).
    std::vector<std::string> applied;
    std::vector<std::string> restart_required;
    // Feed lists this build read from a candidate copy (resolver/feeds), and the lists the
    // list guard refused (a failed build): the feed manager promotes or discards them.
    std::vector<std::string> candidates;
    std::vector<policy::ListRefusal> refusals;
    // The snapshot that served before this build (after a success: the one replaced), and
    // when the first request this build serves was made (unix ms): what the list audit
    // compares, and where a file list's time to enforce starts (resolver/feeds/list_changes.h).
    std::shared_ptr<const policy::PolicySnapshot> previous;
    int64_t requested_ms = 0;
    // Published: file lists whose configured file changed after a push (the file serves
    // again; the feed manager retires the pushed copy).
    std::vector<std::string> superseded_pushes;
    // A feed's build (Kind::kFeed), not a reload: the configuration was not read, so no
    // settings were applied, and ReloadStatus kept the last reload's outcome.
    bool feed = false;
  };
  // Who asked: the admin (a reload from disk) or a feed (its candidates only).
  enum class Kind { kReload, kFeed };
  // What the server made of the Config of a successful build.
  struct Applied {
    std::vector<std::string> live;              // config::live_changes
    std::vector<std::string> restart_required;  // config::restart_required_changes
  };
  using Done = std::function<void(const Outcome&)>;

  // `stats` (optional) gets the blocked-query counter cells of every snapshot built.
  Reloader(uv_loop_t* loop, std::string config_path, policy::SnapshotHolder& holder,
           metrics::BlockStats* stats = nullptr);
  // `force` (sinkholectl reload --force): publish lists that fail the list guard's content
  // checks (policy/list_guard.h). A forced request that joins a queued build forces it.
  // A kReload request that joins a queued feed's build makes it a reload.
  void request(Done done = nullptr, bool force = false, Kind kind = Kind::kReload);
  // Shutting down: builds still running finish, but publish nothing.
  void stop() { stopped_ = true; }

  // The build at start-up: its time and duration count as the last successful load.
  void record_initial(double seconds, std::vector<std::string> warnings = {}) {
    status_.record_initial(seconds, std::move(warnings));
  }
  // Counters and the last error, readable from any thread (the metrics endpoint scrapes them).
  const observe::ReloadStatus& status() const { return status_; }
  // Called on the control thread right after a new snapshot is published, with the
  // Config parsed from the same document (one parse per reload, validated whole before
  // anything is published): the server applies its live settings here. Unset (tests):
  // the Config is dropped.
  std::function<Applied(std::shared_ptr<const config::Config>)> apply_config;
  // Where feed lists' copies are (server.state_dir as the process started: BuildOptions).
  std::string state_dir;
  // Asked when a build starts: feed lists to read from a new copy (list → path). Unset: none.
  std::function<std::map<std::string, std::string>()> candidates;
  // Of those, the ones to build as the list's staged version (BuildOptions). Unset: none.
  std::function<std::set<std::string>()> stage_candidates;
  // What a feed's build names a candidate by in its log line ("mic serial 5"). Unset: the
  // list's name.
  std::function<std::string(const std::string& list)> describe_candidate;
  // Called after every build, before on_finished, with its outcome (the feed manager's turn).
  std::function<void(const Outcome&)> on_built;
  // Called after every successful reload's publication (to re-arm file watches): not after
  // a feed's build, which read no watched file and must not reset a watch mid-edit.
  std::function<void()> on_published;
  // Called when a build starts and when it ends, whatever started it (SIGHUP, sinkholectl,
  // a file change) and whether it failed: the systemd RELOADING=1 / READY=1 pair. Not
  // called for a build that ends after stop().
  std::function<void()> on_started;
  std::function<void(const Outcome&)> on_finished;

 private:
  struct Job;
  void start();
  void finished(Job& job);

  uv_loop_t* loop_;
  std::string path_;
  policy::SnapshotHolder& holder_;
  bool running_ = false;
  bool stopped_ = false;
  std::vector<Done> waiting_;       // for the next build: the admin's reloads
  std::vector<Done> waiting_feed_;  // for the next build: feeds' and sinkholectl's copies
  bool due_ = false;                // one more build is due after the one running
  bool waiting_force_ = false;      // the next build is forced
  bool waiting_reload_ = false;     // the next build is a reload (an admin asked), not a feed's
  int64_t requested_ms_ = 0;        // the first request the next build serves (unix ms); 0: none
  uint64_t next_generation_;
  metrics::BlockStats* stats_;
  observe::ReloadStatus status_;
};

}  // namespace sinkhole::control
