// SPDX-License-Identifier: MIT
// Builds a PolicySnapshot from the policy part of the configuration (lists, actions,
// policies, default_policy): validates the YAML with file:line:column errors, reads and
// compiles every list, builds the client groups. Runs on a work thread at start and at
// every reload; never on a worker. All-or-nothing: any error → no snapshot, and the caller
// keeps serving the previous one. Rejected list lines are warnings, not errors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/snapshot.h"
#include "resolver/metrics/block_stats.h"

namespace sinkhole::policy {

struct BuildResult {
  std::shared_ptr<const PolicySnapshot> snapshot;  // null on error
  std::vector<std::string> errors;                 // file:line:column: message
  std::vector<std::string> warnings;               // rejected list lines, bad patterns
  std::string summary;                             // "3 lists, 120,345 entries, 2 policies"
  double seconds = 0;
};

// `yaml`: the whole configuration text; `path` names it in messages and anchors relative
// list paths (to the config file's directory).
// `stats`, when given, receives a counter cell per (list, action) of the snapshot, so that
// workers count blocked queries by list, category and action (see metrics/block_stats.h).
BuildResult build_snapshot(std::string_view yaml, const std::string& path, uint64_t generation,
                           metrics::BlockStats* stats = nullptr);
BuildResult build_snapshot_from_file(const std::string& path, uint64_t generation,
                                     metrics::BlockStats* stats = nullptr);

}  // namespace sinkhole::policy
