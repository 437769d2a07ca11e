// SPDX-License-Identifier: MIT
// Reads the nameservers of a resolv.conf: the default upstreams when `upstreams:` is absent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "resolver/config/socket_address.h"

namespace sinkhole::config {

// Parses resolv.conf text; unparsable nameserver lines are skipped.
std::vector<SocketAddress> parse_resolv_conf(std::string_view text);
// Reads and parses a file; an unreadable file gives an empty list.
std::vector<SocketAddress> read_resolv_conf(const std::string& path);

}  // namespace sinkhole::config
