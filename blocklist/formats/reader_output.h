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

// Normalises `raw` and appends it as a domain entry; on failure appends a reject instead and
// returns nullptr. The entry stays valid until the next push to out.domains.
DomainEntry* add_domain(ParsedList& out, std::string_view raw, uint32_t line, Scope scope,
                        RuleKind kind = RuleKind::kBlock, ListAction action = ListAction::kNone);

// Appends "reason: 'text'" at `line`; `text` is clipped and control bytes escaped so that a
// binary file cannot flood or garble the report.
void add_reject(ParsedList& out, uint32_t line, std::string_view reason, std::string_view text);

// Counts one skipped rule under `reason` (a short, stable key such as "cosmetic").
void count_skip(ParsedList& out, std::string_view reason);

// The clipped, escaped form used in reject messages.
std::string quote_for_message(std::string_view text);

}  // namespace sinkhole::blocklist
