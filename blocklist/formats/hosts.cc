// SPDX-License-Identifier: MIT
#include "blocklist/formats/hosts.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <string>

#include "blocklist/formats/line_splitter.h"
#include "blocklist/formats/reader_output.h"

namespace sinkhole::blocklist {
namespace {

enum class Address : uint8_t { kNone, kSinkhole, kOther };

Address classify_address(std::string_view field) {
  // A zone index (`fe80::1%lo0`, in every StevenBlack header) names an interface, not part of
  // the address.
  field = field.substr(0, field.find('%'));
  char buf[INET6_ADDRSTRLEN + 1];
  if (field.empty() || field.size() >= sizeof buf) return Address::kNone;
  std::memcpy(buf, field.data(), field.size());
  buf[field.size()] = '\0';

  in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    uint32_t a = ntohl(v4.s_addr);
    return (a == 0 || (a >> 24) == 127) ? Address::kSinkhole : Address::kOther;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) == 1) {
    static const in6_addr kLoopback = IN6ADDR_LOOPBACK_INIT;
    static const in6_addr kAny = IN6ADDR_ANY_INIT;
    bool sink =
        std::memcmp(&v6, &kAny, sizeof v6) == 0 || std::memcmp(&v6, &kLoopback, sizeof v6) == 0;
    return sink ? Address::kSinkhole : Address::kOther;
  }
  return Address::kNone;
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c | 0x20) : c;
}

// `b` is lower case.
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != b[i]) return false;
  }
  return true;
}

// The names hosts files map to the loopback for the machine itself, not block entries.
bool is_localhost_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  static constexpr std::array<std::string_view, 4> kNames = {"localhost", "localhost.localdomain",
                                                             "local", "broadcasthost"};
  for (std::string_view n : kNames) {
    if (iequals(name, n)) return true;
  }
  // ip6-localhost, ip6-loopback, ip6-allnodes, ...: single labels only, so that a real
  // domain such as ip6-test.example stays an entry.
  if (name.size() > 4 && iequals(name.substr(0, 4), "ip6-") &&
      name.find('.') == std::string_view::npos) {
    return true;
  }
  return classify_address(name) == Address::kSinkhole;  // `0.0.0.0 0.0.0.0`
}

}  // namespace

void read_hosts(std::string_view text, ParsedList& out) {
  LineSplitter lines(text);
  std::string_view line;
  while (lines.next(line)) {
    ++out.stats.lines;
    std::string_view rest = trim(strip_hash_comment(line));
    if (rest.empty()) continue;
    std::string_view address = next_field(rest);
    Address kind = classify_address(address);
    if (kind == Address::kNone) {
      add_reject(out, lines.line_number(), "expected an address before the names", line);
      continue;
    }
    bool any = false;
    for (std::string_view name = next_field(rest); !name.empty(); name = next_field(rest)) {
      any = true;
      if (is_localhost_name(name)) {
        count_skip(out, "localhost entry");
      } else if (kind == Address::kOther) {
        count_skip(out, "non-sinkhole address");
      } else {
        add_domain(out, name, lines.line_number(), Scope::kSubtree);
      }
    }
    if (!any) add_reject(out, lines.line_number(), "address without a name", line);
  }
}

}  // namespace sinkhole::blocklist
