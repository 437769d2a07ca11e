// SPDX-License-Identifier: MIT
// Reader for pattern lists: one rule a line, `#` comments, blank lines ignored.
//
//   /regex/        a PatternEntry with the text between the slashes, unchanged (not
//                  anchored, not lower-cased: the author decides; names are scanned in
//                  lower case). A comment may follow the closing slash after a blank.
//   *.bet*.com     a wildcard: a PatternEntry with the regex from wildcard_to_regex (see
//                  wildcard.h for what `*` matches)
//   *.name         no pattern needed: a kSubdomains domain entry, cheaper in the matcher
//   name           a plain kSubtree domain entry, as in a domain list
//   @@<any above>  the same rule as an exception
//
// Nothing is compiled here: the matcher compiles all patterns in one hs_compile_multi and
// reports a bad expression by its line, so only that rule is dropped.
#pragma once

#include <string_view>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// Appends to out.patterns, out.domains and out.stats. Does not merge duplicates.
void read_patterns(std::string_view text, ParsedList& out);

}  // namespace sinkhole::blocklist
