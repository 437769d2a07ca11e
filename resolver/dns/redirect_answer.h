// SPDX-License-Identifier: MIT
// The answer of a `cname` block action (or an RPZ `CNAME other.name.` rule) once the
// redirect target has been resolved: our CNAME from the client's question name to the
// target (e.g. the warning host), then the upstream's answer records for the target with
// every name written out in full (so they stay valid after the move), then our OPT with
// the block's EDE when the client sent EDNS. The rcode is the upstream's. A redirect is the
// first link of a chain (chain_answer.h): write_redirect_cname() writes that link for the
// pipeline, which may have more links to follow. Writes into caller buffers; nothing
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

// Bytes write_redirect_cname() needs at most.
inline constexpr size_t kMaxRedirectCname = 2 * kMaxNameWire + 10;

// Our CNAME record, its owner (the client's question name) written out in full; returns
// the bytes written at `out`.
size_t write_redirect_cname(const ClientQuery& cq, const Redirect& r, uint8_t* out);

// `resp`/`m`: the upstream's checked response for (target, the client's qtype).
size_t build_redirect_answer(const ClientQuery& cq, const Redirect& r, const uint8_t* resp,
                             const MessageView& m, Ede ede, uint8_t* out);

}  // namespace sinkhole::dns
