// SPDX-License-Identifier: MIT
#include "blocklist/formats/rpz_fast.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>

#include <cstring>

namespace sinkhole::blocklist {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

bool plain_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '*';
}

// Wire names ldns builds within this stay clear of its 255-octet checks (and how it counts
// them): anything longer goes to ldns.
constexpr size_t kMaxFastWire = 250;

}  // namespace

bool parse_simple_line(std::string_view line, SimpleRecord& out) {
  if (line.empty() || is_blank(line[0]) || line[0] == '$' || line[0] == ';') return false;
  // ldns reads the whole line (comment included) byte by byte: parentheses join lines,
  // quotes and backslashes change tokens, \r \f \v end a line. Any of those: ldns.
  for (char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u >= 0x7f || c == '(' || c == ')' || c == '"' || c == '\\')
      return false;
  }
  if (const size_t semi = line.find(';'); semi != std::string_view::npos)
    line = line.substr(0, semi);
  std::string_view tokens[6];
  size_t n = 0;
  for (size_t i = 0; i < line.size();) {
    if (is_blank(line[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < line.size() && !is_blank(line[j])) ++j;
    if (n == std::size(tokens)) return false;
    tokens[n++] = line.substr(i, j - i);
    i = j;
  }
  if (n < 3) return false;
  size_t k = 1;
  out = SimpleRecord{};
  out.owner = tokens[0];
  if (tokens[k][0] >= '0' &&
      tokens[k][0] <= '9') {  // ldns: a token starting with a digit is the TTL
    if (tokens[k].size() > 9) return false;
    uint32_t ttl = 0;
    for (char c : tokens[k]) {
      if (c < '0' || c > '9') return false;  // units (1h) and the like: ldns
      ttl = ttl * 10 + static_cast<uint32_t>(c - '0');
    }
    out.has_ttl = true;
    out.ttl = ttl;
    ++k;
  }
  if (k < n && iequal(tokens[k], "IN")) ++k;
  if (k + 2 != n) return false;  // type and one rdata token, nothing else
  if (iequal(tokens[k], "CNAME"))
    out.type = LDNS_RR_TYPE_CNAME;
  else if (iequal(tokens[k], "A"))
    out.type = LDNS_RR_TYPE_A;
  else if (iequal(tokens[k], "AAAA"))
    out.type = LDNS_RR_TYPE_AAAA;
  else
    return false;
  out.rdata = tokens[k + 1];
  return true;
}

bool plain_name_to_wire(std::string_view text, std::span<const uint8_t> origin, uint8_t* out,
                        size_t& len) {
  if (text.empty() || text == "." || text[0] == '.') return false;
  const bool absolute = text.back() == '.';
  if (absolute) text.remove_suffix(1);
  size_t at = 0;
  size_t label_start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      const size_t label = i - label_start;
      if (label == 0 || label > 63 || at + 1 + label > kMaxFastWire) return false;
      out[at++] = static_cast<uint8_t>(label);
      std::memcpy(out + at, text.data() + label_start, label);
      at += label;
      label_start = i + 1;
    } else if (!plain_name_char(text[i])) {
      return false;
    }
  }
  if (absolute) {
    out[at++] = 0;
  } else {
    if (origin.empty() || at + origin.size() > kMaxFastWire) return false;
    std::memcpy(out + at, origin.data(), origin.size());
    at += origin.size();
  }
  len = at;
  return true;
}

bool address_rdata(uint16_t type, std::string_view token, uint8_t* out, size_t& len) {
  char buf[64];
  if (token.size() >= sizeof buf) return false;
  std::memcpy(buf, token.data(), token.size());
  buf[token.size()] = '\0';
  if (type == LDNS_RR_TYPE_A) {
    len = 4;
    return inet_pton(AF_INET, buf, out) == 1;
  }
  if (type == LDNS_RR_TYPE_AAAA) {
    len = 16;
    return inet_pton(AF_INET6, buf, out) == 1;
  }
  return false;
}

}  // namespace sinkhole::blocklist
