// SPDX-License-Identifier: MIT
// Reader for AdBlock Plus / AdGuard filter lists, keeping the subset a DNS filter can apply.
//
// Kept:
//   `||name^` (also `||name^|`, `||name`)  block name and its subdomains (kSubtree)
//   `@@||name^`                             the same as an exception (RuleKind::kException)
//   options $important, $all, $document, $doc: they widen or raise a rule in a browser; at
//   the DNS level the rule still means "this domain", so it is kept as a plain rule.
// Comments: `!` lines, `[Adblock Plus 2.0]` style headers, `#` lines that are no cosmetic rule.
//
// Skipped, counted in stats.skipped under these reasons (never silently):
//   "cosmetic"                 element hiding / CSS / scriptlet / HTML rules (##, #@#, #?#,
//                              #$#, #%#, $$ and their exception forms)
//   "path", "port"             `||example.com/ads`, `||example.com^*.js`, `||example.com:8080`
//   "wildcard rule"            `||ads*.example.com^`, `||*.example.com^`
//   "regex rule"               `/.../`: pattern lists carry regexes, not this reader
//   "url rule"                 `|https://...` (address-start anchor)
//   "hosts-style rule"         `0.0.0.0 example.com` inside an AdBlock list
//   "substring rule"           anything else, e.g. plain `example.com` or `-ad-banner.`
//   "unsupported option $X"    any other option ($third-party, $domain, $script, $badfilter,
//                              $dnstype, ...): applying the rule without it would block more
//                              (or, for $badfilter, the opposite) of what the author wrote.
// An empty or invalid name after `||` is a reject with its line.
#pragma once

#include <string_view>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// Appends to out.domains and out.stats. Does not merge duplicates (parse_list does).
void read_adblock(std::string_view text, ParsedList& out);

}  // namespace sinkhole::blocklist
