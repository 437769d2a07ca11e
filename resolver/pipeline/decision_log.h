// SPDX-License-Identifier: MIT
// The per-query decision line of `log.level: debug`: who asked what, which policy applied
// and what became of the query — blocked by which list and action, refused, or allowed
// and answered from the cache or asked upstream. Called only behind upstream::DebugLog
// (on() and allow()), so nothing here runs above debug. Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "policy/snapshot.h"
#include "resolver/net/client_endpoint.h"

namespace sinkhole::pipeline {

enum class Decision : uint8_t {
  kBlocked,          // `verdict` names list, action, file:line
  kMonitored,        // a passthru rule matched (`verdict`); the query goes on
  kRefusedNoPolicy,  // the client is in no policy and there is no default
  kCacheHit,         // allowed, answered from the cache
  kUpstream,         // allowed, not cached: a new question upstream
  kCoalesced,        // allowed, not cached: joined the same question already in flight
  kLimited,          // allowed, not cached: an in-flight limit refused it (stale or SERVFAIL)
};

void log_decision(const policy::PolicySnapshot& snap, const net::ClientEndpoint& from,
                  const uint8_t* qname, size_t qname_len, uint16_t qtype, Decision d,
                  const policy::Verdict* verdict = nullptr);

}  // namespace sinkhole::pipeline
