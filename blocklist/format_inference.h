// SPDX-License-Identifier: MIT
// The one rule for a list whose format nobody named: the daemon (a list without `format:`)
// and `sinkholed --check-list` (without `--format`) both call infer_format, so the same
// file never loads two ways. Content first: the first non-comment lines are sniffed (hosts
// `0.0.0.0 name`, AdBlock `||name^`, an RPZ zone's `$ORIGIN`/`$TTL`/SOA/`CNAME .`, regex
// and wildcard patterns, plain names). The extension decides only when the content does
// not: an empty or comment-only sample, no majority, or plain names (which both the
// domains and the patterns reader take). With neither, domains.
//
// Pure functions over text already read; load path only, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// Where a list's format came from.
enum class FormatBasis : uint8_t {
  kConfigured,  // `format:` in the config, or `--format`
  kContent,     // sniffed from the first lines
  kExtension,   // the content was ambiguous; the file name's extension decided
  kDefault,     // neither said anything: domains
};

struct FormatChoice {
  Format format = Format::kDomains;
  FormatBasis basis = FormatBasis::kConfigured;
  std::string why;  // "97 of 100 sampled lines are `address name`", "extension .hosts"
};

// Lines sniffed at most (non-blank, non-comment).
inline constexpr size_t kSniffLines = 200;

// The format a file name's extension names (.rpz/.zone, .hosts, .adblock, .patterns), or
// false when it names none.
bool format_from_extension(std::string_view path, Format& out);

// The rule: `text` is the file's content (or its start), `path` its name.
FormatChoice infer_format(std::string_view text, std::string_view path);

// "configured", "content", "extension", "default".
const char* to_string(FormatBasis b);
// What `sinkholectl lists` shows: "hosts" when configured, else "hosts (inferred from
// content)", "patterns (inferred from extension)", "domains (default)".
std::string format_label(Format f, FormatBasis b);
// format_label and the reason: "hosts (inferred from content: 12 of 12 sampled lines are
// `address name`)".
std::string describe(const FormatChoice& c);

}  // namespace sinkhole::blocklist
