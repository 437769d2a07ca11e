// SPDX-License-Identifier: MIT
// The fast path of the RPZ reader (rpz.cc): the common record forms of a policy zone, read
// without ldns. Measured hot path: a 1M-name zone (2M records) spent most of its 5.6 s load
// in ldns (getc per byte from a FILE, a malloc'd ldns_rr and rdfs per record, strings) —
// the shared lists and vendor feeds are almost only `name CNAME .` and `*.name CNAME .`.
//
// Only a line that is exactly
//     owner [ttl] [IN] (CNAME|A|AAAA) rdata [; comment]
// with an explicit owner in the first column, a TTL of digits only, plain names (letters,
// digits, `-`, `_`, `*`, dots between non-empty labels), no `( ) " \` and no control or
// non-ASCII byte is read here. Anything else — directives, `@`, an omitted owner, other
// classes or types, TTL units, escapes, multi-line records, anything odd — returns false,
// and ldns reads it exactly as before. Where this path says yes, it must produce what ldns
// would: tests/blocklist/formats/rpz_fast_test.cc and the RPZ fuzz target compare the two
// readings. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sinkhole::blocklist {

struct SimpleRecord {
  std::string_view owner;  // as written
  bool has_ttl = false;
  uint32_t ttl = 0;
  uint16_t type = 0;       // LDNS_RR_TYPE_CNAME, _A or _AAAA
  std::string_view rdata;  // the one rdata token
};

// One physical line without its '\n'; false: not the simple form (let ldns read it).
bool parse_simple_line(std::string_view line, SimpleRecord& out);

// A plain name (see above) in wire form, original case; a relative one (no final dot)
// completed with `origin` (a wire name ending in the root label). False when the name is
// not plain, is the root alone, or would come near the 255-octet limit (ldns decides).
bool plain_name_to_wire(std::string_view text, std::span<const uint8_t> origin, uint8_t* out,
                        size_t& len);

// The rdata of an A (4 bytes) or AAAA (16 bytes) token as inet_pton reads it (as ldns
// does); false when it does not parse.
bool address_rdata(uint16_t type, std::string_view token, uint8_t* out, size_t& len);

}  // namespace sinkhole::blocklist
