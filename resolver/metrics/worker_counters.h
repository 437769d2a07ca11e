// SPDX-License-Identifier: MIT
// Per-worker counters. Each worker writes only its own block (a relaxed load+store, no
// locked instruction on the hot path); readers on other threads sum the blocks. The one
// table in worker_counters.cc gives every counter its name and help text.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "resolver/metrics/qtype_slots.h"

namespace sinkhole::metrics {

enum class Counter : uint16_t {
  // Received
  kQueriesUdp,
  kQueriesTcp,
  kDropOversize,
  // Parse outcomes (order matches dns::ParseOutcome after kOk)
  kDropShortHeader,
  kDropResponse,
  kNotImp,
  kFormErrQdCount,
  kFormErrNamePastEnd,
  kFormErrBadLabelType,
  kFormErrPointerLoop,
  kFormErrForwardPointer,
  kFormErrPointerPastEnd,
  kFormErrNameTooLong,
  kFormErrShortQuestion,
  kFormErrRecordPastEnd,
  kFormErrOptNotRoot,
  kFormErrTwoOpt,
  kFormErrOptPastEnd,
  kFormErrPointerHops,
  kFormErrAnCount,
  kFormErrNsCount,
  kFormErrArCount,
  kFormErrAdditionalType,
  kBadVers,
  // Meta queries
  kRefusedZoneTransfer,
  kRefusedChaos,
  kAnsweredChaos,
  kAnsweredAnyRfc8482,
  kRefusedClass,
  kFormErrMetaQtype,
  // NOTIFY for an RPZ feed list's zone (resolver/pipeline/notify_stage.h)
  kNotifyAccepted,
  kNotifyRefused,
  // Access control and response rate limiting (resolver/pipeline/admit_stage)
  kRefusedAcl,
  kDropAcl,
  kTcpRejectedAcl,
  // PROXY v2 headers from server.proxy_protocol_from (resolver/pipeline/proxy_stage.h)
  kProxyHeaderUntrusted,
  kProxyHeaderMissing,
  kProxyHeaderMalformed,
  kQueriesProxied,
  kRateLimitedDropped,
  kRateLimitedSlipped,
  // Answers sent, by rcode
  kRcodeNoError,
  kRcodeFormErr,
  kRcodeServFail,
  kRcodeNxDomain,
  kRcodeNotImp,
  kRcodeRefused,
  kRcodeOther,
  kTruncatedUdp,
  kSendErrors,
  // Upstream
  kUpstreamQueries,
  kUpstreamCoalesced,
  kUpstreamTimeouts,
  kUpstreamErrors,
  kUpstreamSpoofed,
  kUpstreamTcpRetries,
  kUpstreamBadResponses,
  kUpstreamRcodeFailures,
  kUpstreamAllFailed,
  kCnameChased,
  kCnameChaseFailed,
  kUpstreamLimitWorker,
  kUpstreamLimitZone,
  kUpstreamLimitUpstream,
  kUpstreamSocketsOpened,
  kUpstreamLateReplies,
  // TCP clients
  kTcpConnections,
  kTcpRejectedLimit,
  kTcpIdleClosed,
  kTcpBadLength,
  kTcpRejectedClientLimit,
  kTcpClosedEvicted,
  kTcpClosedQueryTimeout,
  kTcpClosedWriteTimeout,
  kTcpClosedWriteBound,
  kTcpClosedOversize,
  kTcpPaused,
  kTcpAcceptErrors,
  // Policy
  kBlocked,
  kBlockedCnameChain,
  kBlockedRpzClientIp,
  kBlockedRpzIp,
  kMonitored,
  kRefusedNoPolicy,
  // Cache
  kCacheHits,
  kCacheMisses,
  kCacheStale,
  // dnstap (resolver/dnstap; kDnstapLost is written by the dnstap I/O thread only)
  kDnstapMessages,
  kDnstapDropped,
  kDnstapLost,
  kCount
};

inline constexpr size_t kCounterCount = static_cast<size_t>(Counter::kCount);

struct CounterInfo {
  const char* name;
  const char* help;
};
const CounterInfo& info(Counter c);

class WorkerCounters {
 public:
  void inc(Counter c, uint64_t by = 1) noexcept {
    auto& v = values_[static_cast<size_t>(c)];
    v.store(v.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  uint64_t get(Counter c) const noexcept {
    return values_[static_cast<size_t>(c)].load(std::memory_order_relaxed);
  }
  void inc_qtype(uint16_t qtype) noexcept {
    auto& v = qtypes_[qtype_slot(qtype)];
    v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  uint64_t qtype_count(size_t slot) const noexcept {
    return qtypes_[slot].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, kCounterCount> values_{};
  std::array<std::atomic<uint64_t>, kQtypeSlotCount> qtypes_{};
};

// Sum over workers, as a name → value list in table order.
std::vector<std::pair<std::string, uint64_t>> sum(const std::vector<const WorkerCounters*>& all);

}  // namespace sinkhole::metrics
