// SPDX-License-Identifier: MIT
// Action: what a blocked query gets — a kind plus its parameters; actions × triggers, not
// one long enum (ARCHITECTURE.md). Immutable once the snapshot is built; read on the hot path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/dns/wire.h"

namespace sinkhole::policy {

enum class ActionKind : uint8_t {
  kSinkhole,  // A/AAAA of the warning page; other qtypes NODATA
  kNxDomain,  // NXDOMAIN + synthesized SOA
  kNoData,    // NOERROR, no answer + synthesized SOA
  kRefused,
  kDrop,       // no answer at all
  kCname,      // CNAME to a warning host, resolved through the normal path
  kPassthru,   // allow, but count and log (monitor mode)
  kTcpOnly,    // RPZ rpz-tcp-only: TC=1 over UDP, answered normally over TCP
  kLocalData,  // RPZ local data: the zone's own A/AAAA/CNAME records
};

const char* to_string(ActionKind k);

// An EDE text template split at its placeholders ({list}, {category}, {line}, {file},
// {authority}, {reference}), so that rendering is a concatenation into a stack buffer, not a
// parse per query.
struct EdeTemplate {
  enum class Part : uint8_t { kText, kList, kCategory, kLine, kFile, kAuthority, kReference };
  struct Piece {
    Part part;
    std::string text;  // for kText
  };
  std::vector<Piece> pieces;
};

struct Action {
  std::string name;
  ActionKind kind = ActionKind::kNxDomain;
  std::vector<std::array<uint8_t, 4>> a;      // sinkhole A records
  std::vector<std::array<uint8_t, 16>> aaaa;  // sinkhole AAAA records
  uint32_t ttl = 300;                         // of the sinkhole / CNAME records
  uint32_t soa_ttl = 300;                     // negative-caching TTL of the synthesized SOA
  std::vector<uint8_t> target;                // kCname: wire name of the warning host
  uint16_t ede_code = 15;                     // RFC 8914: 15 Blocked, 16 Censored, 17 Filtered
  bool ede = true;                            // false: no EDE option at all
  EdeTemplate ede_text;
  bool log = false;  // log each blocked query
};

// Parses "Blocked under Decree 147/2024/ND-CP (list {list})"; unknown {words} are an error.
bool parse_ede_template(const std::string& text, EdeTemplate& out, std::string* error);

// What the placeholders stand for in one block: the list's name, category and file, the
// rule's line, the list's legal basis (authority and reference; "" when it has none).
struct EdeFields {
  std::string_view list, category, file;
  uint32_t line = 0;
  std::string_view authority, reference;
};

// Renders `t` with `f` into `buf`, clipped to `cap` bytes; returns the length. No
// allocation: runs per blocked query.
size_t render_ede(const EdeTemplate& t, const EdeFields& f, char* buf, size_t cap) noexcept;

}  // namespace sinkhole::policy
