// SPDX-License-Identifier: MIT
#include "policy/local_overrides.h"

#include <fmt/format.h>

#include <algorithm>

namespace sinkhole::policy {

bool is_override_list(std::string_view list) {
  return list == kOverrideList || list == kOverrideAllowList ||
         list.starts_with(kOverrideScopedPrefix) || list.starts_with(kOverrideExceptPrefix);
}

std::string check_override_name(std::string_view name, std::string* error) {
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    return std::string();
  };
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return fail("an empty name");
  if (name.size() > 253) return fail("longer than 253 characters");
  std::string out;
  size_t labels = 0, label_len = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label_len == 0) return fail("an empty label");
      if (out.back() == '-' || out[out.size() - label_len] == '-')
        return fail("a label begins or ends with '-'");
      ++labels;
      label_len = 0;
      if (i < name.size()) out += '.';
      continue;
    }
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    // fmt, not "'" + std::string: GCC 12 -O3 -Wrestrict false positive (Release build).
    if (!ok) return fail(fmt::format("'{}' is not a letter, digit, '-' or '_'", c));
    if (++label_len > 63) return fail("a label longer than 63 characters");
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  // A single label is a TLD: an override that would cut off a whole top-level domain is
  // far more likely a typo than an order.
  if (labels < 2) return fail("a single label (a top-level domain)");
  return out;
}

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

std::string one_line(std::string_view s) {
  std::string out(s);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
  return out;
}

}  // namespace

std::vector<OverrideEntry> parse_overrides(std::string_view text) {
  std::vector<OverrideEntry> out;
  uint32_t number = 0;
  for (std::string_view line : split(text, '\n')) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const auto f = split(line, '\t');
    if (f.size() < 3 || (f[0] != "block" && f[0] != "unblock")) continue;
    std::string name = check_override_name(f[1], nullptr);
    if (name.empty()) continue;  // only ever written checked: a hand edit gone wrong
    OverrideEntry e;
    e.block = f[0] == "block";
    e.name = std::move(name);
    e.list = f[2] == "*" ? "" : std::string(f[2]);
    if (f.size() > 3) e.reason = std::string(f[3]);
    e.line = number;
    out.push_back(std::move(e));
  }
  return out;
}

std::string render_overrides(const std::vector<OverrideEntry>& entries) {
  std::string out =
      "# sinkholed local overrides (sinkholectl block/unblock): op, name, list (* = all), "
      "reason\n";
  for (const auto& e : entries) {
    out += e.block ? "block\t" : "unblock\t";
    out += e.name;
    out += '\t';
    out += e.list.empty() ? "*" : one_line(e.list);
    out += '\t';
    out += one_line(e.reason);
    out += '\n';
  }
  return out;
}

namespace {

OverrideEdit apply(std::vector<OverrideEntry>& entries, bool block, const std::string& name,
                   const std::string& list, const std::string& reason) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const OverrideEntry& e) { return e.name == name && e.list == list; });
  if (it != entries.end() && it->block == block) {
    it->reason = reason.empty() ? it->reason : reason;
    return OverrideEdit::kUnchanged;
  }
  if (it != entries.end() && !block) {
    entries.erase(it);
    return OverrideEdit::kRemovedBlock;
  }
  if (it != entries.end()) {
    it->block = true;
    it->reason = reason;
    return OverrideEdit::kReplacedUnblock;
  }
  entries.push_back(OverrideEntry{block, name, list, reason, 0});
  return block ? OverrideEdit::kAddedBlock : OverrideEdit::kAddedException;
}

}  // namespace

OverrideEdit apply_block(std::vector<OverrideEntry>& entries, const std::string& name,
                         const std::string& list, const std::string& reason) {
  return apply(entries, true, name, list, reason);
}

OverrideEdit apply_unblock(std::vector<OverrideEntry>& entries, const std::string& name,
                           const std::string& list, const std::string& reason) {
  return apply(entries, false, name, list, reason);
}

const char* to_string(OverrideEdit e) {
  switch (e) {
    case OverrideEdit::kUnchanged:
      return "unchanged";
    case OverrideEdit::kAddedBlock:
      return "block added";
    case OverrideEdit::kAddedException:
      return "exception added";
    case OverrideEdit::kRemovedBlock:
      return "local block removed";
    case OverrideEdit::kReplacedUnblock:
      return "exception replaced by a block";
  }
  return "?";
}

}  // namespace sinkhole::policy
