// SPDX-License-Identifier: MIT
// The address encoding of RPZ IP trigger owners (draft-vixie-dnsop-dns-rpz §4.1, BIND ARM
// "Response Policy Zones"): `<prefix length>.<address, least significant part first>`
// before the `rpz-ip` / `rpz-client-ip` label.
//   IPv4  4 decimal octets:   32.1.0.0.127          = 127.0.0.1/32
//                             24.0.2.0.192          = 192.0.2.0/24
//   IPv6  8 hex words, `zz` once for the longest run of zero words (like `::`):
//                             128.1.zz.1.2001       = 2001:1::1/128
//                             48.zz.8.db8.2001      = 2001:db8:8::/48
// Strict, as a zone server loading the zone would be: a length outside 1..32 / 1..128, an
// octet over 255, a word over 4 hex digits, two `zz`, a wrong number of parts, or host bits
// set past the length are errors (the record is a reject at its line). Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// `labels`: the owner relative to the zone without the trigger label, e.g. "24.0.2.0.192".
// Fills out.family, out.prefix and out.addr; false with a one-line `error` otherwise.
bool decode_rpz_ip(std::string_view labels, IpTriggerEntry& out, std::string& error);

}  // namespace sinkhole::blocklist
