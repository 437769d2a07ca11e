// SPDX-License-Identifier: MIT
// The answer to a blocked question, chosen by the verdict's action: sinkhole A/AAAA,
// NXDOMAIN or NODATA with a synthesized SOA (negative caching, RFC 2308), REFUSED, no
// answer (drop), TC=1 (tcp-only over UDP), RPZ local data, or — the `cname` action and
// RPZ `CNAME other.name.` data — a redirect that the pipeline must resolve first. Every answer
// carries the action's Extended DNS Error (RFC 8914) with its rendered text when the client sent
// EDNS. Pure: writes into `out` (kMaxMessage bytes), no I/O, no counters. Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "policy/snapshot.h"
#include "resolver/dns/answer_builder.h"
#include "resolver/dns/redirect_answer.h"
#include "resolver/pipeline/step.h"

namespace sinkhole::pipeline {

// Longest EDE text kept for a redirect resolved later (the rest is cut).
inline constexpr size_t kMaxRedirectEdeText = 255;

struct BlockedAnswer {
  Step step;               // kReply (bytes in `out`) or kDrop; unused when `redirect`
  bool truncated = false;  // did not fit the client's limit (or tcp-only): a TC=1 stub
  // The `cname` action, or an RPZ rule `name CNAME other.name.` (`local_data`): resolve
  // `target` for the client's qtype, then answer with our CNAME, the target's records and
  // this EDE. The text is in BlockedAnswer::ede_text.
  bool redirect = false;
  bool local_data = false;  // the target is checked by policy like any CNAME target
  dns::Redirect target;
  uint16_t ede_code = dns::kNoEde;
  uint8_t ede_len = 0;
  char ede_text[kMaxRedirectEdeText];
};

BlockedAnswer build_blocked_answer(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                                   const dns::ClientQuery& cq, uint16_t qtype, uint8_t* out);

}  // namespace sinkhole::pipeline
