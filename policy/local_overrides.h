// SPDX-License-Identifier: MIT
// Local overrides: the emergency blocks and unblocks an operator makes with `sinkholectl
// block NAME [--list L] [--reason TEXT]` / `unblock NAME [--list L]`, kept in one file of
// the state directory (<state_dir>/lists/local-overrides/current, policy/list_copies.h) so
// they survive restarts. The snapshot builder turns the file into built-in lists:
//
//   block NAME            list `local-overrides` (category "override", mandatory): first
//                         in every policy's block rules; no allow list or other list's
//                         exception lifts it (an emergency order wins).
//   block NAME --list L   list `local-overrides@L` (category "override", L's action): first
//                         in the block rules of the policies that use L, with the action
//                         their rule for L has.
//   unblock NAME          removes a `block NAME` when there is one; otherwise an allow
//                         entry (list `local-overrides.allow`, in every policy's allow
//                         lists): lifts the name from every list that is not mandatory.
//   unblock NAME --list L removes a `block NAME --list L` when there is one; otherwise an
//                         exception of L only (list `local-overrides.except@L`, one of
//                         L's `exceptions:`) — the only way to lift a name of a mandatory
//                         list by hand.
//   block after unblock of the same NAME and scope removes that unblock (and vice versa):
//   one entry per (name, scope) at most.
//
// A name covers its subdomains, as a `domains` list entry does. Names are checked
// (check_override_name): letters, digits, '-', '_', at least two labels, no wildcard.
// File format: one entry a line, tab-separated `block|unblock  NAME  LIST-or-*  REASON`.
// Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sinkhole::policy {

inline constexpr std::string_view kOverrideList = "local-overrides";
inline constexpr std::string_view kOverrideAllowList = "local-overrides.allow";
// Prefixes of the scoped lists; the scope (a list name) follows.
inline constexpr std::string_view kOverrideScopedPrefix = "local-overrides@";
inline constexpr std::string_view kOverrideExceptPrefix = "local-overrides.except@";

// Whether `list` is one of the built-in override lists (reserved: no configured list may
// use such a name, and no push or stage applies to one).
bool is_override_list(std::string_view list);

struct OverrideEntry {
  bool block = true;
  std::string name;    // normalised: lower case, no trailing dot
  std::string list;    // the scope; "" = every policy
  std::string reason;  // one line
  uint32_t line = 0;   // in the file it was read from (parse_overrides), 0 when made
  bool operator==(const OverrideEntry&) const = default;
};

// The normalised name, or "" with `error` set.
std::string check_override_name(std::string_view name, std::string* error);

std::vector<OverrideEntry> parse_overrides(std::string_view text);
std::string render_overrides(const std::vector<OverrideEntry>& entries);

enum class OverrideEdit {
  kUnchanged,        // that entry was already there (its reason updated)
  kAddedBlock,       // block: a new block entry
  kAddedException,   // unblock: a new unblock entry
  kRemovedBlock,     // unblock: the block of the same name and scope removed
  kReplacedUnblock,  // block: the unblock of the same name and scope replaced by a block
};
// `name` must be normalised (check_override_name).
OverrideEdit apply_block(std::vector<OverrideEntry>& entries, const std::string& name,
                         const std::string& list, const std::string& reason);
OverrideEdit apply_unblock(std::vector<OverrideEntry>& entries, const std::string& name,
                           const std::string& list, const std::string& reason);
const char* to_string(OverrideEdit e);

}  // namespace sinkhole::policy
