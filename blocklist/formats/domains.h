// SPDX-License-Identifier: MIT
// Reader for plain domain lists (StevenBlack domain form, UT1, Block List Project "domains"):
// one name a line, `#` comments whole-line or trailing, blank lines ignored.
//
// Each name becomes a kSubtree block rule (the name and everything below it). A line
// `*.name` is taken as kSubdomains of name (below it, not the name itself), which is what the
// writer of such a line means; any other `*` is rejected (wildcards belong in pattern lists).
// More than one field on a line is rejected rather than guessed at (it is usually a hosts
// file given the wrong format).
#pragma once

#include <string_view>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// Appends to out.domains, out.stats.lines and out.stats.rejects. Does not merge duplicates
// (parse_list does).
void read_domains(std::string_view text, ParsedList& out);

}  // namespace sinkhole::blocklist
