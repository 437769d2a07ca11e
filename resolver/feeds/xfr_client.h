// SPDX-License-Identifier: MIT
// One zone transfer from an RPZ primary over TCP (RFC 5936 AXFR, RFC 1995 IXFR), with ldns
// for the wire and TSIG (RFC 8945: the request signed, every message of the answer verified,
// each against the MAC before it). Bounded: a deadline for the whole exchange (connect
// included), a timeout for each read, limits on bytes and records, and a cancel flag
// looked at while waiting for the primary. A full zone is
// returned as canonical text, one record per line (ldns_rr2str of the canonical RR, SOA
// first): the form of the list's copy, which xfr_apply.h patches with an IXFR's deltas.
// Blocking: a feed's transfer thread only, never the control loop or a worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/list_source.h"
#include "resolver/config/socket_address.h"
#include "resolver/feeds/soa_timers.h"

namespace sinkhole::feeds {

struct XfrRequest {
  config::SocketAddress primary;
  std::string zone;  // no trailing dot
  std::optional<policy::TsigKeySpec> tsig;
  std::optional<uint32_t> ixfr_from;  // IXFR from this serial; none: AXFR
  uint32_t deadline_ms = 60000;       // connect to last byte
  uint32_t read_timeout_ms = 15000;   // each read
  uint64_t max_bytes = uint64_t{1} << 30;
  uint64_t max_records = 10'000'000;
  // Set from another thread (shutdown, the feed replaced): the transfer ends within
  // kXfrCancelPollMs with reason "cancelled". nullptr: not cancellable.
  const std::atomic<bool>* cancel = nullptr;
};

// How often a waiting transfer looks at its cancel flag.
inline constexpr int kXfrCancelPollMs = 50;

// One step of an IXFR: records deleted and added, as canonical lines.
struct IxfrDelta {
  uint32_t from = 0, to = 0;
  std::vector<std::string> deleted, added;
};

struct XfrResult {
  enum class Kind : uint8_t { kFailed, kUpToDate, kFull, kIncremental };
  Kind kind = Kind::kFailed;
  // kFailed: why, and a short label for counters: "network", "timeout", "refused", "tsig",
  // "truncated", "inconsistent", "too_big", "malformed"; "cancelled" (never counted).
  std::string error, reason;
  bool ixfr_refused = false;  // the primary refused or did not implement IXFR: try AXFR
  uint32_t serial = 0;        // the primary's serial
  SoaTimers timers;
  std::string soa_line;           // the new SOA, canonical
  std::string zone_text;          // kFull: the whole zone, SOA first, one record per line
  uint64_t records = 0;           // kFull: records in zone_text
  std::vector<IxfrDelta> deltas;  // kIncremental, in order
  uint64_t bytes = 0;             // received
};

XfrResult transfer(const XfrRequest& req);

// The TSIG algorithm name ldns expects for a configured one ("hmac-sha256" → "hmac-sha256.").
std::string ldns_tsig_algorithm_name(const std::string& algorithm);

}  // namespace sinkhole::feeds
