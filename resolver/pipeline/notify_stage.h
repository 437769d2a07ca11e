// SPDX-License-Identifier: MIT
// NOTIFY (RFC 1996) for RPZ feed lists, on the ordinary DNS listen addresses. Accepted only
// from a configured primary (address; any source port) of a list whose zone is the
// NOTIFY's question, and TSIG-verified when that list has a key (the secret the build read:
// policy/list_source.h — no file is opened here); answered QR+AA, opcode NOTIFY, the
// question echoed, NOERROR, signed when the request was. From anyone else, or with a bad
// signature: REFUSED. The ACL is a walk over the snapshot's lists the worker already holds;
// only an accepted or signed NOTIFY (rare) allocates (ldns). Worker thread.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "policy/snapshot.h"
#include "resolver/dns/query_view.h"

namespace sinkhole::pipeline {

inline constexpr uint8_t kOpcodeNotify = 4;

struct NotifyOutcome {
  bool accepted = false;
  size_t size = 0;     // reply bytes written to `out` (0: none could be made)
  uint16_t rcode = 0;  // of the reply
  std::string zone;    // accepted: the zone (text, no trailing dot)
  std::string from;    // accepted: the sender's address
  std::string reason;  // refused: why (for the debug log)
};

// `q` parsed `msg` with opcode NOTIFY and a readable question.
NotifyOutcome answer_notify(const uint8_t* msg, size_t len, const dns::QueryView& q,
                            const sockaddr* from, const policy::PolicySnapshot& snap, uint8_t* out,
                            size_t out_cap);

}  // namespace sinkhole::pipeline
