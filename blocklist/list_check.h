// SPDX-License-Identifier: MIT
// `sinkholed --check-list`: load lists the way the daemon would (readers, then the matcher
// builder, so Hyperscan errors show too) and print what an admin needs before pushing a
// list: entries, rules, duplicates, skipped lines by reason, and file:line of every reject.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

enum class CheckStatus : int { kClean = 0, kRejects = 1, kUnreadable = 2 };

// Checks each file (with `format`, or when `format` is null the one infer_format chooses,
// the rule the daemon applies to a list without `format:`); prints the report to `out`,
// with the format chosen and why. Returns the worst status: 2 if a file could not be read, 1 if any
// line or pattern was rejected, 0 when every file is clean.
CheckStatus check_lists(const std::vector<std::string>& paths, const Format* format,
                        std::ostream& out);

}  // namespace sinkhole::blocklist
