// SPDX-License-Identifier: MIT
// Builds a PolicySnapshot from the policy part of the configuration (lists, actions,
// policies, default_policy): validates it with file:line:column errors, reads and compiles
// every list, builds the client groups. Reads the YAML tree the configuration file was
// parsed into once (config::Document), the same tree config::parse_config reads the
// server settings from. Runs at start and on the reload work thread; never on a worker.
// All-or-nothing: any error → no snapshot, and the caller keeps serving the previous one.
// Per-list rebuilds: given the snapshot serving (BuildOptions::serving), a list whose file
// bytes (XXH3 content hash) and build settings are unchanged is reused from it, not read
// into a matcher again, so a reload costs what changed (plus reading and hashing files).
// Rejected list lines are warnings, not errors — until a list guard trips (list_guard.h:
// no entry, too many rejects, a shrink against the version serving, max_entries, not a
// regular file, out of memory), which is an error naming the list. std::bad_alloc and any
// other exception while building are errors too, never a crash.
// A feed's build (build_feed_snapshot) starts from the snapshot serving instead: its
// configuration text, its lists as they serve, and the feeds' candidate copies.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "policy/list_guard.h"
#include "policy/snapshot.h"
#include "resolver/metrics/block_stats.h"

namespace sinkhole::config {
struct Config;    // resolver/config/config.h
struct Document;  // resolver/config/yaml_reader.h
}  // namespace sinkhole::config

namespace sinkhole::policy {

struct BuildResult {
  std::shared_ptr<const PolicySnapshot> snapshot;  // null on error
  std::vector<std::string> errors;                 // file:line:column: message
  // One line per list with rejected lines ("list X: N lines rejected (first at
  // file:line)"), lists published anyway (--force), and the like.
  std::vector<std::string> warnings;
  // Each rejected line and bad pattern (file:line), at most 100 a list.
  std::vector<std::string> details;
  // The strict checks (policy/semantic_checks.h): filled by build_snapshot(yaml|file) and
  // by add_semantic_checks; warnings unless `sinkholed --check --strict`.
  std::vector<std::string> findings;
  std::vector<std::string> notices;  // audit lines for the info log (exception lifts)
  // "3 list(s), 120,345 entries, 7 action(s), 2 policies" (a reload: "; 1 list rebuilt,
  // 2 reused")
  std::string summary;
  double seconds = 0;
  size_t lists_rebuilt = 0;           // read and compiled by this build
  size_t lists_reused = 0;            // unchanged: taken from BuildOptions::serving
  std::vector<ListRefusal> refusals;  // the lists that failed their guard (also in errors)
  // The server settings parsed from the same document (config::parse_config), set by the
  // functions that validate the whole document first (not by build_snapshot(Document)):
  // a reload applies them together with the snapshot, or neither.
  std::shared_ptr<const config::Config> config;
  // File lists whose configured file changed after a push (sinkholectl list push): this
  // build read the file again; once published the pushed copy is retired (and audited).
  std::vector<std::string> superseded_pushes;
};

struct BuildOptions {
  // `sinkholectl reload --force`: publish lists that fail the content checks (empty,
  // reject ratio, shrink), with a warning. max_entries and unreadable files still fail.
  bool force = false;
  // Entries of each list of the snapshot serving now, by list name: the shrink check's
  // baseline. Empty at start (nothing serves yet).
  std::map<std::string, size_t> serving_entries;
  // The snapshot serving now (a reload; null at start): a list whose bytes and build
  // settings match its version there (ListData::build_key) is reused — matcher, stats,
  // local data, warnings — instead of compiled again, and skips the list guard (it passed
  // it when compiled). Held by the build, so it outlives the build even if another
  // snapshot is published meanwhile.
  std::shared_ptr<const PolicySnapshot> serving;
  // Where feed lists' copies are (policy/list_copies.h): server.state_dir of the running
  // process. Empty: the state_dir of the configuration being built.
  std::string state_dir;
  // Feed lists to read from a new copy instead of the one serving, by list name → path
  // (resolver/feeds: a transfer, a download or a push waiting to be checked by this build).
  // An empty path: build the list without any copy, pending and empty (an RPZ copy past
  // its SOA expire with `on_expire: drop`).
  std::map<std::string, std::string> candidates;
  // Of `candidates`, the ones to build as the list's *staged* version (a feed's `updates:
  // stage`, sinkholectl list stage --from-feed): read and put through the list guard as any
  // candidate (a refusal fails the build), then compiled beside the version serving
  // (ListData::staged, path: the `staged` slot the feed manager moves it to), which stays.
  std::set<std::string> stage_candidates;
  // The staged-version tallies of the snapshot serving, by list name: a list whose staged
  // copy is still the same keeps counting into the same tally (policy/staged_tally.h).
  std::map<std::string, std::shared_ptr<StagedTally>> staged_tallies;
  // A feed's build (build_feed_snapshot): every list without a candidate is taken from
  // `serving` as it serves (matcher, path, staged copy), no file of it opened, not even
  // to hash it; only the candidates are read and guarded.
  bool feeds_only = false;
};

// The baseline for BuildOptions::staged_tallies.
std::map<std::string, std::shared_ptr<StagedTally>> staged_tallies(const PolicySnapshot& snap);

// The baseline for BuildOptions::serving_entries.
std::map<std::string, size_t> entries_by_list(const PolicySnapshot& snap);

// The policy part of `doc`, whose other sections the caller has validated with
// config::parse_config (sinkholed's main does, for its Config). doc.path names the file in
// messages and anchors relative list paths (to the config file's directory).
// `stats`, when given, receives a counter cell per (policy, list, action) of the snapshot,
// so that workers count blocked and monitored queries by policy, list, category and action
// (see metrics/block_stats.h).
BuildResult build_snapshot(const config::Document& doc, uint64_t generation,
                           metrics::BlockStats* stats = nullptr, const BuildOptions& options = {});
// Parse once, validate the whole document with config::parse_config (kept in
// BuildResult::config), then build: from YAML text (`path` as above), or from the file at `path`
// (each reload).
BuildResult build_snapshot(std::string_view yaml, const std::string& path, uint64_t generation,
                           metrics::BlockStats* stats = nullptr, const BuildOptions& options = {});
BuildResult build_snapshot_from_file(const std::string& path, uint64_t generation,
                                     metrics::BlockStats* stats = nullptr,
                                     const BuildOptions& options = {});
// A build a feed asked for (a transfer, a download, an `on_expire: drop`): the next
// generation of `options.serving` with only `options.candidates` read from their copies.
// The configuration is the text that snapshot was built from (PolicySnapshot::config_text),
// not the file, and no other list's file is read: an edit the admin has not reloaded is
// not applied, and one that breaks the configuration or a file list cannot hold the feed
// back. It can fail only on a candidate (the list guard) or out of memory. The local
// overrides are read as in every build (sinkholectl block/unblock saved them).
BuildResult build_feed_snapshot(uint64_t generation, metrics::BlockStats* stats,
                                const BuildOptions& options);

}  // namespace sinkhole::policy
