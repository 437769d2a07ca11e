// SPDX-License-Identifier: MIT
// Turns an upstream response into the reply for one waiting client: the client's ID,
// question bytes (its 0x20 case), RD/CD/opcode; our OPT instead of the upstream's (no
// upstream options leak through); TTLs and sections untouched; truncated to the client's
// transport limit with a valid TC=1 stub.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/dns/answer_builder.h"
#include "resolver/dns/message_view.h"

namespace sinkhole::dns {

enum class RewriteResult : uint8_t { kOk, kTruncated, kUnusable };

struct Rewritten {
  RewriteResult result = RewriteResult::kUnusable;
  size_t size = 0;
};

// `resp`/`m` must be a response already checked against the query (same question).
// `out` holds at least kMaxMessage bytes.
Rewritten rewrite_response(const ClientQuery& cq, const uint8_t* resp, const MessageView& m,
                           uint8_t* out) noexcept;

}  // namespace sinkhole::dns
