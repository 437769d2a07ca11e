// SPDX-License-Identifier: MIT
#include "resolver/metrics/block_stats.h"

#include <algorithm>
#include <ctime>
#include <tuple>

namespace sinkhole::metrics {

BlockStats::Cell* BlockStats::cell(std::string_view list, std::string_view category,
                                   std::string_view action) {
  std::string key;
  key.reserve(list.size() + category.size() + action.size() + 2);
  key.append(list).push_back('\0');
  key.append(category).push_back('\0');
  key.append(action);
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) return it->second;
  labels_.push_back(Row{std::string(list), std::string(category), std::string(action), 0});
  Cell* c = &cells_.emplace_back(workers_);
  by_key_.emplace(std::move(key), c);
  return c;
}

std::vector<BlockStats::Row> BlockStats::rows() const {
  std::vector<Row> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(labels_.size());
    for (size_t i = 0; i < labels_.size(); ++i) {
      out.push_back(labels_[i]);
      out.back().blocked = cells_[i].total();
    }
  }
  std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
    return std::tie(a.list, a.category, a.action) < std::tie(b.list, b.category, b.action);
  });
  return out;
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
