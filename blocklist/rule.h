// SPDX-License-Identifier: MIT
// Rule: what a matcher lookup returns — a few bytes of provenance, no strings. The texts
// (list path, category, the entry itself) live with the list and are read only when an
// answer or a log line needs them.
#pragma once

#include <cstdint>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

struct Rule {
  uint32_t line = 0;   // line in the list file
  uint32_t entry = 0;  // index into that list's domains (or patterns)
  uint16_t list = 0;   // list id: the order in which lists were added
  RuleKind kind = RuleKind::kBlock;
  ListAction action = ListAction::kNone;
  bool pattern = false;    // matched by a regex/wildcard rule
  bool important = false;  // AdBlock $important: beats exceptions below it
};
static_assert(sizeof(Rule) == 16, "Rule is stored inline in the domain table's records");

}  // namespace sinkhole::blocklist
