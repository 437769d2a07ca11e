// SPDX-License-Identifier: MIT
#include "policy/list_guard.h"

#include <fmt/format.h>

#include <cmath>

#include "util/log_escape.h"

namespace sinkhole::policy {

namespace {

std::string percent(double fraction) {
  return fmt::format("{:g}%", std::round(fraction * 10000) / 100);
}

}  // namespace

std::string list_label(const std::string& name, const std::string& path) {
  return fmt::format("list {} ({})", util::escape_for_log(name, 120),
                     util::escape_for_log(path, 240));
}

std::optional<ListRefusal> check_list(const ListFigures& f, const ListLimits& limits,
                                      std::optional<size_t> serving_entries) {
  auto refuse = [&](const char* reason, std::string why) {
    return ListRefusal{f.name, reason, list_label(f.name, f.path) + ": " + std::move(why)};
  };
  if (f.entries == 0)
    return refuse(refusal::kEmpty,
                  fmt::format("0 valid entries of {} line{}", f.lines, f.lines == 1 ? "" : "s"));
  const size_t considered = f.entry_lines + f.rejects;
  if (considered > 0 &&
      static_cast<double>(f.rejects) > limits.max_reject_ratio * static_cast<double>(considered))
    return refuse(
        refusal::kRejectRatio,
        fmt::format("{} of {} entry lines rejected ({}, max_reject_ratio {})", f.rejects,
                    considered,
                    percent(static_cast<double>(f.rejects) / static_cast<double>(considered)),
                    percent(limits.max_reject_ratio)));
  if (serving_entries && *serving_entries > 0 && !limits.allow_shrink &&
      static_cast<double>(f.entries) <
          (1.0 - limits.max_shrink) * static_cast<double>(*serving_entries))
    return refuse(
        refusal::kShrink,
        fmt::format(
            "{} entries, down from {} in service (-{}, max_shrink {})", f.entries, *serving_entries,
            percent(1.0 - static_cast<double>(f.entries) / static_cast<double>(*serving_entries)),
            percent(limits.max_shrink)));
  return std::nullopt;
}

void read_list_limits(config::YamlReader& r, const YAML::Node& n, const std::string& where,
                      bool per_list, ListLimits& limits) {
  if (const auto v = n["max_reject_ratio"])
    if (auto f = r.fraction(v, where + ".max_reject_ratio")) limits.max_reject_ratio = *f;
  if (const auto v = n["max_shrink"])
    if (auto f = r.fraction(v, where + ".max_shrink")) limits.max_shrink = *f;
  if (const auto v = n["max_entries"])
    if (auto e = r.unsigned_in(v, where + ".max_entries", 1, 1'000'000'000))
      limits.max_entries = *e;
  if (!per_list) return;
  if (const auto v = n["allow_shrink"]) {
    auto s = r.scalar(v, where + ".allow_shrink");
    if (s && (*s == "true" || *s == "false"))
      limits.allow_shrink = *s == "true";
    else if (s)
      r.error_at(v, fmt::format("{}.allow_shrink must be true or false", where));
  }
}

}  // namespace sinkhole::policy
