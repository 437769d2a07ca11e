// SPDX-License-Identifier: MIT
// How readers append to a ParsedList, so that every format rejects, skips and names things the
// same way: a reject always carries its line and a reason that quotes the offending text, and
// a skip is always counted under a reason (never dropped silently). Not thread-safe per list.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// Entries a streaming list (ParsedList::sink set) hands over at a time: big enough that
// the sink's per-chunk work is amortised, small enough to stay in cache.
inline constexpr size_t kStreamChunk = 4096;

// Normalises `raw` and appends it as a domain entry; on failure appends a reject instead and
// returns nullptr. The entry stays valid until the next add_domain call (which may hand the
// entries before it to out.sink).
DomainEntry* add_domain(ParsedList& out, std::string_view raw, uint32_t line, Scope scope,
                        RuleKind kind = RuleKind::kBlock, ListAction action = ListAction::kNone);

// Hands every entry still in out.domains to out.sink (no-op without a sink).
void flush_domains(ParsedList& out);

// Appends "reason: 'text'" at `line`; `text` is clipped to 80 bytes and escaped
// (util::escape_for_log) so that a binary file cannot flood or garble the report or the log.
void add_reject(ParsedList& out, uint32_t line, std::string_view reason, std::string_view text);

// Counts one skipped rule under `reason` (a short, stable key such as "cosmetic").
void count_skip(ParsedList& out, std::string_view reason);

// The clipped, escaped form used in reject messages.
std::string quote_for_message(std::string_view text);

}  // namespace sinkhole::blocklist
