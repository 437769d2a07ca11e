// SPDX-License-Identifier: MIT
// Entry point for loading one list: picks the reader for the format, then does what every
// format shares -- merging duplicates and counting entries and rules -- so that the counts a
// list reports mean the same whatever its format. Runs at start and on the reload work thread;
// the result is plain data handed to the matcher builder.
//
// Duplicates: two domain rules with the same normalised name, scope and kind are one rule;
// the first (its line) is kept and stats.duplicates counts the others. Patterns merge on
// expression and kind. stats.entries counts distinct names (an RPZ name with both `name` and
// `*.name` rules, or an AdBlock name with a block and an exception, is one entry) plus
// distinct pattern expressions; stats.rules counts the rules kept.
//
// Errors never throw and never fail the list: invalid entries are stats.rejects with their
// line. A file that cannot be read gives a ParsedList with no rules and one reject at line 0
// ("cannot read file: <strerror>"), so callers treat I/O like any other diagnostic and can
// tell it apart by the line number.
#pragma once

#include <string>
#include <string_view>

#include "blocklist/entry.h"
#include "blocklist/format_inference.h"

namespace sinkhole::blocklist {

// Parses list text already in memory. `source` names it in messages (a path, usually).
//
// With a `sink`, domain entries are handed to it while they are read (see DomainSink) and
// the result holds none; they are not merged (the sink, normally a MatcherBuilder, merges
// them as it indexes them), and stats.entries/rules/duplicates then count only patterns:
// the sink's owner adds the domain figures. Rejects and skips are counted as without one.
ParsedList parse_list(std::string_view text, Format format, std::string source,
                      DomainSink* sink = nullptr);

// Reads the whole file, then parse_list with the path as source.
ParsedList read_list_file(const std::string& path, Format format, DomainSink* sink = nullptr);

// The same for a list whose format may be unnamed (`format` null): it is then inferred from
// the text just read (infer_format: content first, then the path's extension), so the file
// is read once. `chosen` (optional) receives the format used and where it came from.
ParsedList read_list_file(const std::string& path, const Format* format, DomainSink* sink,
                          FormatChoice* chosen);

// The merge and counting step of parse_list, for callers that run readers themselves.
void merge_duplicates(ParsedList& list);

}  // namespace sinkhole::blocklist
