// SPDX-License-Identifier: MIT
// The answer of a `cname` block action once the redirect target has been resolved: our
// CNAME from the client's question name to the target (e.g. the warning host), then the
// upstream's answer records for the target with every name written out in full (so they
// stay valid after the move), then our OPT with the block's EDE when the client sent EDNS.
// The rcode is the upstream's. Writes into a caller buffer of kMaxMessage bytes; nothing
// allocates. The caller truncates when the result exceeds the client's limit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/dns/answer_builder.h"
#include "resolver/dns/message_view.h"

namespace sinkhole::dns {

struct Redirect {
  const uint8_t* target = nullptr;  // uncompressed wire name
  size_t target_len = 0;
  uint32_t ttl = 0;  // of our CNAME
};

// `resp`/`m`: the upstream's checked response for (target, the client's qtype).
size_t build_redirect_answer(const ClientQuery& cq, const Redirect& r, const uint8_t* resp,
                             const MessageView& m, Ede ede, uint8_t* out);

}  // namespace sinkhole::dns
