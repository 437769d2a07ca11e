// SPDX-License-Identifier: MIT
#include "resolver/feeds/xfr_apply.h"

#include <fmt/format.h>

#include <unordered_map>
#include <unordered_set>

namespace sinkhole::feeds {

std::string record_key(const std::string& line) {
  // owner TTL class type rdata, tab-separated (ldns_rr2str): drop the second field.
  const size_t a = line.find('\t');
  if (a == std::string::npos) return line;
  const size_t b = line.find('\t', a + 1);
  if (b == std::string::npos) return line;
  return line.substr(0, a) + line.substr(b);
}

namespace {
bool is_soa_line(const std::string& line) {
  // owner \t ttl \t class \t SOA \t ...
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    pos = line.find('\t', pos);
    if (pos == std::string::npos) return false;
    ++pos;
  }
  return line.compare(pos, 4, "SOA\t") == 0;
}
}  // namespace

bool apply_ixfr(std::istream& current, const std::string& new_soa_line,
                const std::vector<IxfrDelta>& deltas, std::string& out, ApplyStats& stats,
                std::string* error) {
  // The net change over every step: a record added then deleted again never touches the copy.
  std::unordered_set<std::string> deleted;
  std::unordered_map<std::string, std::string> added;  // key → line
  std::vector<std::string> added_order;
  for (const auto& d : deltas) {
    for (const auto& line : d.deleted) {
      if (is_soa_line(line)) continue;
      const std::string k = record_key(line);
      if (added.erase(k) == 0) deleted.insert(k);
    }
    for (const auto& line : d.added) {
      if (is_soa_line(line)) continue;
      const std::string k = record_key(line);
      if (added.emplace(k, line).second) added_order.push_back(k);
    }
  }
  stats = {};
  out.clear();
  out += new_soa_line;
  out += '\n';
  stats.records = 1;
  size_t matched = 0;
  std::string line;
  while (std::getline(current, line)) {
    if (line.empty() || is_soa_line(line)) continue;
    if (!deleted.empty()) {
      const std::string k = record_key(line);
      if (deleted.count(k)) {
        ++matched;
        ++stats.deleted;
        continue;
      }
      // A record re-added with a new TTL replaces the line we hold.
    }
    if (!added.empty() && added.count(record_key(line))) {
      // Already there (re-added): the added line replaces it below.
      continue;
    }
    out += line;
    out += '\n';
    ++stats.records;
  }
  if (matched < deleted.size()) {
    if (error)
      *error = fmt::format("the IXFR deletes {} records the copy does not hold",
                           deleted.size() - matched);
    return false;
  }
  for (const auto& k : added_order) {
    const auto it = added.find(k);
    if (it == added.end()) continue;
    out += it->second;
    out += '\n';
    ++stats.records;
    ++stats.added;
  }
  return true;
}

}  // namespace sinkhole::feeds
