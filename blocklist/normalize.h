// SPDX-License-Identifier: MIT
// Name normalisation for every list reader: one function turns a name as written in a list
// into the form the matcher stores (lower case, no trailing dot, IDN labels as punycode), or
// says in a few words why the name cannot be an entry. Pure function, any thread.
//
// What is accepted is wider than host-name syntax on purpose: underscores (`_dmarc`), all-digit
// labels and bare IPv4 addresses (UT1 lists) are legal DNS names and real lists contain them.
// Leading or trailing hyphens are accepted for the same reason. What is refused: empty labels,
// labels over 63 octets, names over 253 characters, and any byte outside [a-z0-9_-] in the
// ASCII result (spaces, `*`, `/`, `%`, ...).
#pragma once

#include <string>
#include <string_view>

namespace sinkhole::blocklist {

struct Normalized {
  bool ok = false;
  std::string name;    // normalised presentation form without trailing dot, when ok
  std::string reason;  // short human text, when not ok ("empty label", "IDNA: ...")
};

inline constexpr size_t kMaxLabelOctets = 63;
inline constexpr size_t kMaxNameChars = 253;  // presentation form without the final dot

// ASCII names take a fast path with no libidn2 call (millions of names are loaded); only labels
// holding non-ASCII bytes go through IDNA2008 (UTS #46 non-transitional, falling back to
// transitional), so `cá-cược.vn` and `xn--c-cc-5na85j946j.vn` give the same string. ASCII
// `xn--` labels are only lower-cased, not decoded to be checked: that would need libidn2 on
// the fast path, and a bogus punycode label can only match itself.
Normalized normalize_name(std::string_view raw);

// The same into caller-owned strings, so a reader that reuses `out` allocates nothing for
// most names. Returns false with `reason` set when the name cannot be an entry (`out` is
// then unspecified).
bool normalize_name_into(std::string_view raw, std::string& out, std::string& reason);

}  // namespace sinkhole::blocklist
