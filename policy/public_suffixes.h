// SPDX-License-Identifier: MIT
// The Public Suffix List (publicsuffix.org; Debian's `publicsuffix` package installs it as
// /usr/share/publicsuffix/public_suffix_list.dat): the names under which anyone may
// register a name — TLDs (`vn`, `com`), second-level registries (`com.vn`), and private
// ones (`github.io`). A block list entry that is one of them blocks every name under it,
// which the strict checks (semantic_checks.h) flag.
//
// Kept as a plain vector of normalised names (lower case, punycode): the check asks each
// list's matcher for each suffix (about 9,000 lookups a list, whatever the list's size), so
// it costs nothing per entry and stays off the query path. Wildcard rules (`*.ck`) keep
// their base (`ck`); exception rules (`!www.ck`) are left out.
//
// Load path only. system() loads the file once per process (thread-safe); any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sinkhole::policy {

class PublicSuffixes {
 public:
  struct Suffix {
    std::string name;   // normalised, e.g. "com.vn", "xn--55qx5d.cn"
    bool icann = true;  // false: the list's PRIVATE section (github.io, ...)
  };

  // Parses the list's own format: `//` comments, one rule a line, sections by marker.
  static PublicSuffixes parse(std::string_view text);
  // The system copy at kSystemPath, read once; empty with error() set when it is missing.
  static const PublicSuffixes& system();
  static constexpr const char* kSystemPath = "/usr/share/publicsuffix/public_suffix_list.dat";

  const std::vector<Suffix>& suffixes() const { return suffixes_; }
  bool empty() const { return suffixes_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::vector<Suffix> suffixes_;
  std::string error_;
};

}  // namespace sinkhole::policy
