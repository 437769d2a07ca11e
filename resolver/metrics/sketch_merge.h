// SPDX-License-Identifier: MIT
// Fleet-wide protected users: the sketches of several nodes (sketch_document.h) merged
// into one count per category and window. HyperLogLog sketches of the same precision and
// hash key merge exactly by register-wise max: the merged registers are those one node
// would hold had it seen every node's clients, so a client seen by two nodes counts once.
// Merging sketches of different keys would count such a client up to once per node, with
// nothing to show it: the key fingerprints must all be equal, or the merge is refused.
//
// A category a node does not have (no list of that category there, or none yet blocked)
// merges as empty registers on that node. Pure; sinkholectl's thread (any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "resolver/metrics/sketch_document.h"

namespace sinkhole::metrics {

struct NodeSketches {
  std::string source;  // where it came from (the URL), for messages
  SketchDocument doc;
};

struct FleetRow {
  std::string category;
  std::string window;  // kLastHour, kLastDay
  double fleet = 0;    // distinct clients over the fleet (estimate of the union)
  // Per node, in input order: the node's own estimate, nullopt when it lacks the category.
  std::vector<std::optional<double>> per_node;
  double node_sum = 0;      // the sum of the per-node estimates (what adding up gives)
  size_t nodes_merged = 0;  // nodes that had this category
};

struct FleetReport {
  std::vector<std::string> nodes;  // labels: the node name, or name@source when names repeat
  std::string key_fingerprint;
  int64_t oldest_unix = 0;  // generated_unix range of the documents
  int64_t newest_unix = 0;
  std::vector<FleetRow> rows;         // by category (sorted), last_hour then last_day
  std::vector<std::string> warnings;  // e.g. documents generated minutes apart
};

struct MergeOutcome {
  std::optional<FleetReport> report;
  std::string error;  // !report: why the merge is refused (names the nodes)
};

// Refused: no node; differing key fingerprints (the error lists each fingerprint with its
// nodes, and says which run without protected_users.key_file).
MergeOutcome merge_sketches(const std::vector<NodeSketches>& nodes);

}  // namespace sinkhole::metrics
