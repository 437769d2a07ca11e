// SPDX-License-Identifier: MIT
#include "resolver/metrics/block_stats.h"

#include <algorithm>
#include <ctime>
#include <tuple>

namespace sinkhole::metrics {

BlockStats::Cell* BlockStats::find_or_add(Table& t, std::string_view policy, std::string_view list,
                                          std::string_view category, std::string_view action) {
  std::string key;
  key.reserve(policy.size() + list.size() + category.size() + action.size() + 3);
  for (std::string_view part : {policy, list, category}) key.append(part).push_back('\0');
  key.append(action);
  std::lock_guard lock(mu_);
  auto it = t.by_key.find(key);
  if (it != t.by_key.end()) return it->second;
  t.labels.push_back(
      Row{std::string(policy), std::string(list), std::string(category), std::string(action), 0});
  Cell* c = &t.cells.emplace_back(workers_);
  t.by_key.emplace(std::move(key), c);
  return c;
}

BlockStats::Cell* BlockStats::cell(std::string_view policy, std::string_view list,
                                   std::string_view category, std::string_view action) {
  return find_or_add(blocked_, policy, list, category, action);
}

BlockStats::Cell* BlockStats::monitor_cell(std::string_view policy, std::string_view list,
                                           std::string_view category, std::string_view action) {
  return find_or_add(monitored_, policy, list, category, action);
}

std::vector<BlockStats::Row> BlockStats::rows_of(const Table& t) const {
  std::vector<Row> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(t.labels.size());
    for (size_t i = 0; i < t.labels.size(); ++i) {
      out.push_back(t.labels[i]);
      out.back().count = t.cells[i].total();
    }
  }
  std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
    return std::tie(a.policy, a.list, a.category, a.action) <
           std::tie(b.policy, b.list, b.category, b.action);
  });
  return out;
}

std::vector<BlockStats::Row> BlockStats::rows() const {
  return rows_of(blocked_);
}

std::vector<BlockStats::Row> BlockStats::monitored_rows() const {
  return rows_of(monitored_);
}

std::optional<uint16_t> BlockStats::category_id(std::string_view category) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < categories_.size(); ++i)
    if (categories_[i] == category) return static_cast<uint16_t>(i);
  const auto id = static_cast<uint16_t>(categories_.size());
  if (!users_.ensure_category(id)) return std::nullopt;
  // Stamp the current buckets now: estimates only count buckets rotate() has dated, and
  // the control thread's next tick may be a second away.
  users_.rotate(static_cast<int64_t>(std::time(nullptr)));
  categories_.emplace_back(category);
  return id;
}

std::vector<std::string> BlockStats::categories() const {
  std::lock_guard lock(mu_);
  return categories_;
}

}  // namespace sinkhole::metrics
