// SPDX-License-Identifier: MIT
// Line and field splitting shared by the line-oriented readers (domains, hosts, AdBlock,
// patterns). Kept here, not in each reader, so that every format treats a UTF-8 BOM, CRLF line
// ends and a missing final newline the same way. Views only: nothing allocates, which matters
// for the 190k-line lists.
#pragma once

#include <cstdint>
#include <string_view>

namespace sinkhole::blocklist {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

inline std::string_view strip_bom(std::string_view text) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  return text;
}

inline bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Cuts a `#` comment: `#` can never be part of a name, so anything after it is a comment
// whether it starts the line or trails an entry.
inline std::string_view strip_hash_comment(std::string_view s) {
  return s.substr(0, s.find('#'));
}

// Splits off the next blank-separated field; returns an empty view when none is left.
inline std::string_view next_field(std::string_view& rest) {
  size_t i = 0;
  while (i < rest.size() && is_blank(rest[i])) ++i;
  size_t j = i;
  while (j < rest.size() && !is_blank(rest[j])) ++j;
  std::string_view field = rest.substr(i, j - i);
  rest.remove_prefix(j);
  return field;
}

// Walks `text` line by line. A BOM at the very start is dropped, a "\r" before "\n" is
// dropped, and a last line without "\n" is still a line. Line numbers are 1-based physical
// lines, as editors show them, so rejects can be found by file:line.
class LineSplitter {
 public:
  explicit LineSplitter(std::string_view text) : rest_(strip_bom(text)) {}

  bool next(std::string_view& line) {
    if (rest_.empty()) return false;
    size_t nl = rest_.find('\n');
    if (nl == std::string_view::npos) {
      line = rest_;
      rest_ = {};
    } else {
      line = rest_.substr(0, nl);
      rest_.remove_prefix(nl + 1);
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_;
    return true;
  }

  uint32_t line_number() const { return line_; }

 private:
  std::string_view rest_;
  uint32_t line_ = 0;
};

}  // namespace sinkhole::blocklist
