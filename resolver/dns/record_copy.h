// SPDX-License-Identifier: MIT
// Copies resource records out of one message into another with every name written out in
// full (owner and the names inside CNAME, DNAME, NS, PTR, MX, SOA rdata), so the records
// stay valid wherever they land. Used when an answer is assembled from parts (the `cname`
// block action: our CNAME, then the upstream's answer for the warning host).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sinkhole::dns {

struct CopiedRecords {
  size_t bytes = 0;  // written at `out`
  size_t count = 0;  // records copied
  bool ok = true;    // false: a record was malformed or did not fit
};

// Copies `count` records starting at offset `off` of `msg`, at most `cap` bytes.
CopiedRecords copy_records_expanded(const uint8_t* msg, size_t len, size_t off, size_t count,
                                    uint8_t* out, size_t cap);

}  // namespace sinkhole::dns
