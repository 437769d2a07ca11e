// SPDX-License-Identifier: MIT
// Applies an IXFR's deltas to a list's copy without loading the zone as records: the copy is
// our own canonical text (one record per line, SOA first: xfr_client.h), so it is streamed
// line by line, the lines equal to a deleted record dropped (a hash set of the few deleted
// records, compared without the TTL), the added ones appended, and the new SOA written
// first. A deletion of a record the copy does not hold means the copy and the primary
// disagree: refused, so the feed falls back to AXFR. Pure; the feed's transfer thread.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "resolver/feeds/xfr_client.h"

namespace sinkhole::feeds {

struct ApplyStats {
  uint64_t records = 0;  // in the result, SOA included
  uint64_t deleted = 0, added = 0;
};

// The new copy in `out`; false and `error` when a deleted record is not in `current`.
bool apply_ixfr(std::istream& current, const std::string& new_soa_line,
                const std::vector<IxfrDelta>& deltas, std::string& out, ApplyStats& stats,
                std::string* error);

// A canonical line without its TTL: what a deletion is matched on.
std::string record_key(const std::string& line);

}  // namespace sinkhole::feeds
