// SPDX-License-Identifier: MIT
#include "blocklist/normalize.h"

#include <idn2.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace sinkhole::blocklist {
namespace {

// One byte class table instead of a chain of comparisons: the ASCII fast path runs for every
// name of every list.
enum ByteClass : uint8_t { kInvalid, kKeep, kUpper };

constexpr std::array<uint8_t, 256> make_byte_classes() {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kKeep;
  for (int c = '0'; c <= '9'; ++c) t[c] = kKeep;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kUpper;
  t['-'] = kKeep;
  t['_'] = kKeep;
  return t;
}
constexpr std::array<uint8_t, 256> kByteClass = make_byte_classes();

std::string describe_byte(unsigned char c) {
  char buf[32];
  if (c >= 0x21 && c < 0x7f) {
    std::snprintf(buf, sizeof buf, "invalid character '%c'", c);
  } else {
    std::snprintf(buf, sizeof buf, "invalid character '\\x%02x'", c);
  }
  return buf;
}

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// Converts one label holding non-ASCII bytes. Non-transitional first (IDNA2008 keeps `ß` as
// `xn--zca`); transitional only as a fallback so that names the strict mapping refuses but
// browsers of the IDNA2003 era resolved still load.
bool idna_label(std::string_view label, std::string& out, std::string& reason) {
  if (label.find('\0') != std::string_view::npos) {  // libidn2 would stop reading there
    reason = describe_byte(0);
    return false;
  }
  std::string input(label);  // libidn2 wants a NUL-terminated string
  char* ascii = nullptr;
  int rc = idn2_to_ascii_8z(input.c_str(), &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
  if (rc != IDN2_OK) {
    std::free(ascii);
    ascii = nullptr;
    int rc2 = idn2_to_ascii_8z(input.c_str(), &ascii, IDN2_TRANSITIONAL | IDN2_NFC_INPUT);
    if (rc2 != IDN2_OK) {
      std::free(ascii);
      reason = std::string("IDNA: ") + idn2_strerror(rc);
      return false;
    }
  }
  out += ascii;
  std::free(ascii);
  return true;
}

// Copies ASCII labels and IDNA-converts the others; labels are split on ASCII dots only,
// the Unicode full stops (U+3002 ...) are mapped to dots by libidn2 inside a label.
bool convert_mixed(std::string_view raw, std::string& out, std::string& reason) {
  out.reserve(raw.size() + 16);
  while (true) {
    size_t dot = raw.find('.');
    std::string_view label = raw.substr(0, dot);
    if (has_non_ascii(label)) {
      if (!idna_label(label, out, reason)) return false;
    } else {
      out.append(label);  // lower-cased with the rest by validate_and_lower
    }
    if (dot == std::string_view::npos) return true;
    out += '.';
    raw.remove_prefix(dot + 1);
  }
}

// Checks an ASCII candidate in place, lower-casing it. Returns an empty string when valid.
std::string validate_and_lower(std::string& name) {
  size_t label_len = 0;
  for (char& ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (label_len == 0) return "empty label";
      if (label_len > kMaxLabelOctets) return "label longer than 63 octets";
      label_len = 0;
      continue;
    }
    switch (kByteClass[c]) {
      case kKeep:
        break;
      case kUpper:
        ch = char(c | 0x20);
        break;
      default:
        return describe_byte(c);
    }
    ++label_len;
  }
  if (label_len == 0) return "empty label";
  if (label_len > kMaxLabelOctets) return "label longer than 63 octets";
  if (name.size() > kMaxNameChars) return "name longer than 253";
  return {};
}

}  // namespace

bool normalize_name_into(std::string_view raw, std::string& out, std::string& reason) {
  if (!raw.empty() && raw.back() == '.') raw.remove_suffix(1);
  if (raw.empty()) {
    reason = "empty name";
    return false;
  }
  out.clear();
  if (has_non_ascii(raw)) {
    if (!convert_mixed(raw, out, reason)) return false;
  } else {
    out.assign(raw);
  }
  reason = validate_and_lower(out);
  return reason.empty();
}

Normalized normalize_name(std::string_view raw) {
  Normalized n;
  n.ok = normalize_name_into(raw, n.name, n.reason);
  if (!n.ok) n.name.clear();
  return n;
}

}  // namespace sinkhole::blocklist
