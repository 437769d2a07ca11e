// SPDX-License-Identifier: MIT
// Who may query, and how fast: the settings of the admit stage (resolver/pipeline/admit_stage.h).
//
//   server:
//     allow_query: [10.0.0.0/8, 2001:db8::/32]  # default: loopback, RFC 1918, RFC 6598,
//                                               # fc00::/7, fe80::/10
//     deny_query: [10.66.0.0/16]                # wins over allow_query
//     refuse_action: refuse                     # or drop
//     proxy_protocol_from: [192.0.2.10/32]      # default: none (PROXY v2 off)
//   rate_limit:                                 # absent, or responses_per_second 0: off
//     responses_per_second: 20                  # per client prefix, all workers together
//     burst: 40                                 # default: responses_per_second
//     slip: 2                                   # every 2nd limited reply goes out TC=1
//     ipv4_prefix: 24
//     ipv6_prefix: 56
//     exempt: [192.0.2.0/24]
//     table_size: 65536                         # buckets per worker
//
// The default allow_query admits private ranges only, so a resolver put on a public
// address answers no one it was not told about: a public edge lists its subscribers'
// prefixes. Rate limiting is off by default because one CGNAT prefix may hide thousands of
// subscribers (RFC 6598): a per-prefix limit there must be sized for them, or exempt them.
// Load path only (parse_config).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "policy/cidr.h"

namespace YAML {
class Node;
}

namespace sinkhole::config {

struct AccessConfig {
  enum class RefuseAction : uint8_t { kRefuse, kDrop };
  std::vector<policy::Cidr> allow_query = default_allow_query();
  std::vector<policy::Cidr> deny_query;
  RefuseAction refuse_action = RefuseAction::kRefuse;
  // Proxies whose PROXY v2 header names the client (resolver/net/proxy_header.h); empty:
  // no source is trusted, no header is read.
  std::vector<policy::Cidr> proxy_protocol_from;

  // Loopback, RFC 1918, RFC 6598 (CGNAT), IPv6 ULA and link-local.
  static std::vector<policy::Cidr> default_allow_query();
};

struct RateLimitConfig {
  uint32_t responses_per_second = 0;  // 0: off
  uint32_t burst = 0;                 // 0: as responses_per_second
  uint32_t slip = 2;                  // every slip-th limited reply is TC=1; 0: never
  uint8_t ipv4_prefix = 24;
  uint8_t ipv6_prefix = 56;
  std::vector<policy::Cidr> exempt;
  uint32_t table_size = 65536;  // buckets per worker, rounded up to a power of two

  bool enabled() const { return responses_per_second != 0; }
};

class YamlReader;

// Reads allow_query, deny_query, refuse_action and proxy_protocol_from from the `server:` mapping
// `n` (the other server keys are read by parse_config). Errors go to `r`.
void read_access(YamlReader& r, const YAML::Node& n, AccessConfig& out);
// Reads the `rate_limit:` section.
void read_rate_limit(YamlReader& r, const YAML::Node& n, RateLimitConfig& out);

}  // namespace sinkhole::config
