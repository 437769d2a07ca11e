// SPDX-License-Identifier: MIT
#include "resolver/metrics/sketch_merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace sinkhole::metrics {

namespace {

// Nodes whose documents were made further apart than this may count different windows
// (a window is whole 5-minute or 1-hour slots of each node's clock).
constexpr int64_t kSkewWarningSeconds = 300;

std::vector<std::string> labels(const std::vector<NodeSketches>& nodes) {
  std::map<std::string, int> count;
  for (const auto& n : nodes) ++count[n.doc.node];
  std::vector<std::string> out;
  for (const auto& n : nodes)
    out.push_back(count[n.doc.node] > 1 ? n.doc.node + "@" + n.source : n.doc.node);
  return out;
}

std::string refuse_keys(const std::vector<NodeSketches>& nodes,
                        const std::vector<std::string>& names) {
  std::map<std::string, std::vector<std::string>> by_fingerprint;
  std::vector<std::string> random;
  for (size_t i = 0; i < nodes.size(); ++i) {
    by_fingerprint[nodes[i].doc.key_fingerprint].push_back(names[i] + " (" + nodes[i].source + ")");
    if (!nodes[i].doc.key_from_file) random.push_back(names[i]);
  }
  std::string msg = fmt::format(
      "the nodes hash client addresses with {} different keys, so their sketches cannot be "
      "merged (a client seen by two nodes would count twice):",
      by_fingerprint.size());
  for (const auto& [fp, who] : by_fingerprint) {
    msg += fmt::format(" key {} on ", fp);
    for (size_t i = 0; i < who.size(); ++i) msg += (i ? ", " : "") + who[i];
    msg += ";";
  }
  if (!random.empty()) {
    msg += " without protected_users.key_file (a random key per process):";
    for (size_t i = 0; i < random.size(); ++i) msg += (i ? ", " : " ") + random[i];
    msg += ";";
  }
  msg += " give every node the same protected_users.key_file and restart them";
  return msg;
}

}  // namespace

MergeOutcome merge_sketches(const std::vector<NodeSketches>& nodes) {
  MergeOutcome out;
  if (nodes.empty()) {
    out.error = "no node to merge";
    return out;
  }
  const std::vector<std::string> names = labels(nodes);
  for (const auto& n : nodes) {
    if (n.doc.key_fingerprint != nodes.front().doc.key_fingerprint) {
      out.error = refuse_keys(nodes, names);
      return out;
    }
  }
  FleetReport r;
  r.nodes = names;
  r.key_fingerprint = nodes.front().doc.key_fingerprint;
  r.oldest_unix = r.newest_unix = nodes.front().doc.generated_unix;
  std::set<std::string> categories;
  for (const auto& n : nodes) {
    r.oldest_unix = std::min(r.oldest_unix, n.doc.generated_unix);
    r.newest_unix = std::max(r.newest_unix, n.doc.generated_unix);
    for (const auto& c : n.doc.categories) categories.insert(c.category);
  }
  if (r.newest_unix - r.oldest_unix > kSkewWarningSeconds)
    r.warnings.push_back(fmt::format(
        "the nodes' documents were made {} s apart (clocks not in sync, or a slow node): "
        "their windows may differ",
        r.newest_unix - r.oldest_unix));
  if (nodes.size() == 1 && !nodes.front().doc.key_from_file)
    r.warnings.push_back(names.front() +
                         " has no protected_users.key_file: it cannot be merged with others");
  for (const auto& category : categories) {
    for (const auto window : {kLastHour, kLastDay}) {
      FleetRow row;
      row.category = category;
      row.window = std::string(window);
      HyperLogLog::Registers acc{};
      for (const auto& n : nodes) {
        const auto it =
            std::find_if(n.doc.categories.begin(), n.doc.categories.end(),
                         [&](const CategorySketch& c) { return c.category == category; });
        if (it == n.doc.categories.end()) {
          row.per_node.push_back(std::nullopt);
          continue;
        }
        const WindowSketch& w = window == kLastHour ? it->last_hour : it->last_day;
        for (size_t i = 0; i < acc.size(); ++i) acc[i] = std::max(acc[i], w.registers[i]);
        row.per_node.push_back(w.estimate);
        row.node_sum += w.estimate;
        ++row.nodes_merged;
      }
      row.fleet = HyperLogLog::estimate(acc);
      r.rows.push_back(std::move(row));
    }
  }
  out.report = std::move(r);
  return out;
}

}  // namespace sinkhole::metrics
