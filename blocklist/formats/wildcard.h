// SPDX-License-Identifier: MIT
// Turns a wildcard rule such as `*.bet*.com` into a Hyperscan-compatible regex over the
// lower-case presentation name (no trailing dot), as the matcher scans it.
//
// What `*` means -- it never lets a partial label match across a dot:
//   `*` inside a label     `bet*`    -> `bet[^.]*`         zero or more characters, same label
//   `*` as a whole label   `ads.*.x` -> `ads\.[^.]+\.x`    exactly one label
//   `*` as the first label `*.x`     -> `(?:[^.]+\.)+x`    one or more labels, as a DNS or RPZ
//                                                           wildcard: strictly below, any depth
// so `*.bet*.com` -> `^(?:[^.]+\.)+bet[^.]*\.com$`: it matches www.bet365.com and
// a.b.betway.com, not bet365.com (nothing below .com's label before it) and not
// www.bet.evil.com (the star stays inside the `bet` label). Globs that crossed dots would let
// `bet*` match `bet.anything.com`, which nobody writing a gambling list means.
// The result is anchored at both ends (`^...$`). Literal labels are normalised like names
// (lower case, IDNA to punycode), so `*.cá-cược.vn` works.
#pragma once

#include <string>
#include <string_view>

namespace sinkhole::blocklist {

struct WildcardRegex {
  bool ok = false;
  std::string expression;  // when ok
  std::string reason;      // when not ok
};

WildcardRegex wildcard_to_regex(std::string_view wildcard);

}  // namespace sinkhole::blocklist
