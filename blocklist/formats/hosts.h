// SPDX-License-Identifier: MIT
// Reader for hosts files used as block lists: `0.0.0.0 name`, `127.0.0.1 name`, `:: name`,
// `::1 name`, several names on one line, `#` comments.
//
// Decisions:
// - Each name becomes a kSubtree block rule, like the same list in domain-per-line form
//   (StevenBlack publishes both), so a list does not change meaning with its format.
// - The localhost block every hosts file starts with (localhost, localhost.localdomain, local,
//   broadcasthost, ip6-localhost, ip6-loopback, other single-label `ip6-*` names, and
//   `0.0.0.0 0.0.0.0`) is counted under stats.skipped["localhost entry"], per name, whatever
//   the address (`255.255.255.255 broadcasthost`, `fe80::1%lo0 localhost`).
// - Any other name after an address that is not a sinkhole address (unspecified or loopback)
//   maps a name to a real host; that is not a block rule, so it is counted as
//   "non-sinkhole address". A first field that is no address at all is a reject, and so is
//   an address without a name.
#pragma once

#include <string_view>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// Appends to out.domains and out.stats. Does not merge duplicates (parse_list does).
void read_hosts(std::string_view text, ParsedList& out);

}  // namespace sinkhole::blocklist
