// SPDX-License-Identifier: MIT
#include "blocklist/formats/wildcard.h"

#include "blocklist/normalize.h"

namespace sinkhole::blocklist {
namespace {

WildcardRegex fail(std::string reason) {
  WildcardRegex w;
  w.reason = std::move(reason);
  return w;
}

// A label with a `*` inside: only ASCII name characters around the stars, since IDNA cannot
// convert a fragment of a label.
bool append_partial_label(std::string_view label, std::string& out, std::string& reason) {
  size_t literal = 0;
  bool last_star = false;
  for (char ch : label) {
    char c = (ch >= 'A' && ch <= 'Z') ? char(ch | 0x20) : ch;
    if (c == '*') {
      if (!last_star) out += "[^.]*";  // `**` is the same as `*`
      last_star = true;
      continue;
    }
    last_star = false;
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      reason = "invalid character in a wildcard label";
      return false;
    }
    out += c;
    ++literal;
  }
  if (literal > kMaxLabelOctets) {
    reason = "label longer than 63 octets";
    return false;
  }
  return true;
}

}  // namespace

WildcardRegex wildcard_to_regex(std::string_view wildcard) {
  if (!wildcard.empty() && wildcard.back() == '.') wildcard.remove_suffix(1);
  if (wildcard.empty()) return fail("empty pattern");
  if (wildcard == "*") return fail("'*' alone matches every name");
  if (wildcard.size() > kMaxNameChars) return fail("name longer than 253");

  WildcardRegex w;
  w.expression = "^";
  bool need_dot = false;
  bool first = true;
  while (true) {
    size_t dot = wildcard.find('.');
    std::string_view label = wildcard.substr(0, dot);
    if (label.empty()) return fail("empty label");
    if (need_dot) w.expression += "\\.";
    need_dot = true;
    if (label == "*" && first) {
      w.expression += "(?:[^.]+\\.)+";
      need_dot = false;  // the group already ends with the dot
    } else if (label == "*") {
      w.expression += "[^.]+";
    } else if (label.find('*') != std::string_view::npos) {
      if (!append_partial_label(label, w.expression, w.reason)) return fail(std::move(w.reason));
    } else {
      Normalized n = normalize_name(label);
      if (!n.ok) return fail(std::move(n.reason));
      for (char c : n.name) {
        if (c == '.') w.expression += '\\';  // a Unicode full stop became a dot
        w.expression += c;
      }
    }
    first = false;
    if (dot == std::string_view::npos) break;
    wildcard.remove_prefix(dot + 1);
  }
  w.expression += '$';
  w.ok = true;
  return w;
}

}  // namespace sinkhole::blocklist
