// SPDX-License-Identifier: MIT
// The list guard: whether a freshly read list may be published. A blocklist replaced by an
// empty file, an HTML error page, random bytes or a half-copied file reads "successfully"
// (every bad line is only a reject), and publishing it would silently stop blocking: for
// a legal blocking product the worst failure there is. So a list that yields no entry,
// whose rejected lines exceed max_reject_ratio, or that lost more than max_shrink of the
// entries of the version serving, fails the build (the old snapshot keeps serving), unless
// the reload is forced (`sinkholectl reload --force`) or the list says allow_shrink. A
// list over max_entries always fails: that is a resource bound, not a judgement on content.
//
// Glossary
//   limits     the four per-list knobs, from `list_defaults:` then the list's own keys
//   refusal    why a list may not be published: a stable reason key (metrics label) and
//              a message naming the list and its path
//
// Pure functions; the snapshot builder calls them on the start-up or reload work thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "resolver/config/yaml_reader.h"

namespace sinkhole::policy {

// A list file longer than max_entries × this is refused unread (a comment-heavy AdBlock
// list runs to ~100 bytes an entry, a domain list ~20).
inline constexpr size_t kMaxBytesPerEntry = 1024;

struct ListLimits {
  double max_reject_ratio = 0.01;  // rejected lines / entry lines (entries + rejects)
  double max_shrink = 0.5;         // fraction of the serving version's entries that may go
  bool allow_shrink = false;       // this list may shrink by any amount without --force
  size_t max_entries = 10'000'000;
};

// Stable reason keys (the `reason` label of sinkholed_list_reload_failures_total).
namespace refusal {
inline constexpr const char* kEmpty = "empty";
inline constexpr const char* kRejectRatio = "reject_ratio";
inline constexpr const char* kShrink = "shrink";
inline constexpr const char* kMaxEntries = "max_entries";
inline constexpr const char* kNotRegular = "not_regular_file";
inline constexpr const char* kUnreadable = "unreadable";
inline constexpr const char* kOutOfMemory = "out_of_memory";
inline constexpr const char* kError = "error";
}  // namespace refusal

struct ListRefusal {
  std::string list;     // the list's name
  std::string reason;   // a refusal:: key
  std::string message;  // "list gambling (/etc/…/gambling.txt): 0 valid entries of 12 lines"
};

// What the guard looks at, once the list is read.
struct ListFigures {
  std::string name;
  std::string path;
  size_t lines = 0;        // physical lines
  size_t entries = 0;      // distinct names and patterns kept
  size_t entry_lines = 0;  // lines read as a rule (kept or merged as a duplicate)
  size_t rejects = 0;      // lines (or patterns) refused
};

// The refusal of the content checks (empty, reject ratio, then shrink against
// `serving_entries` when the list is in service now and allow_shrink is off), or nullopt
// when the list may be published. A forced reload still calls it, to log what it publishes
// anyway.
std::optional<ListRefusal> check_list(const ListFigures& f, const ListLimits& limits,
                                      std::optional<size_t> serving_entries);

// "list gambling (path)": the escaped prefix every list message starts with.
std::string list_label(const std::string& name, const std::string& path);

// Reads `max_reject_ratio`, `max_shrink`, `max_entries` (and `allow_shrink` when
// `per_list`) from mapping `n` into `limits`, reporting errors at their node.
void read_list_limits(config::YamlReader& r, const YAML::Node& n, const std::string& where,
                      bool per_list, ListLimits& limits);

}  // namespace sinkhole::policy
