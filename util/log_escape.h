// SPDX-License-Identifier: MIT
// Escaping for anything untrusted that goes into a log line: query names, list lines, list
// names and paths. A log line must stay one line and must not drive the reader's terminal,
// so control bytes (C0, DEL, C1), newlines, ESC, invalid UTF-8 and the Unicode line
// separators and bidi overrides become `\xNN` (one per byte), a backslash becomes `\\`, and
// printable UTF-8 is kept as it is, so an IDN stays readable.
//
// max_len bounds the escaped text in bytes (not counting the marker); longer input is cut
// at a character boundary and ends with "…", so a 1 MB garbage "line" costs 80 bytes of log.
//
// Header-only and below every box (it needs only the standard library). Pure: any thread.
// It allocates (the returned string); append_escaped_for_log reuses a caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sinkhole::util {

inline constexpr std::size_t kLogNoLimit = static_cast<std::size_t>(-1);
inline constexpr std::string_view kLogEllipsis = "\u2026";

namespace log_escape_detail {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629 table), or 0 when it is not one.
inline std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  const std::size_t left = s.size() - i;
  auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < left && at(i + k) >= lo && at(i + k) <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c >= 0xE1 && c <= 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// Well-formed but still unsafe in a log: C1 controls, U+2028/2029, bidi embeddings,
// overrides and isolates (they reorder what the reader sees).
inline bool unsafe_code_point(std::string_view seq) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(seq[k]); };
  if (seq.size() == 2) return b(0) == 0xC2 && b(1) <= 0x9F;
  if (seq.size() == 3 && b(0) == 0xE2) {
    const std::uint32_t cp = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    return (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
  }
  return false;
}

inline void append_hex(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0x0F];
}

}  // namespace log_escape_detail

// Appends the escaped form of `in` to `out` (see the header comment).
inline void append_escaped_for_log(std::string& out, std::string_view in,
                                   std::size_t max_len = kLogNoLimit) {
  using namespace log_escape_detail;
  std::size_t written = 0;
  std::string piece;
  for (std::size_t i = 0; i < in.size();) {
    piece.clear();
    const unsigned char c = static_cast<unsigned char>(in[i]);
    std::size_t consumed = 1;
    if (c == '\\') {
      piece = "\\\\";
    } else if (c >= 0x20 && c < 0x7F) {
      piece = static_cast<char>(c);
    } else if (c < 0x80) {
      append_hex(piece, c);
    } else if (const std::size_t n = utf8_length(in, i); n != 0) {
      consumed = n;
      const std::string_view seq = in.substr(i, n);
      if (unsafe_code_point(seq)) {
        for (char b : seq) append_hex(piece, static_cast<unsigned char>(b));
      } else {
        piece.assign(seq);
      }
    } else {
      append_hex(piece, c);
    }
    if (max_len != kLogNoLimit && written + piece.size() > max_len) {
      out += kLogEllipsis;
      return;
    }
    out += piece;
    written += piece.size();
    i += consumed;
  }
}

// The escaped form of `in`, at most max_len bytes plus "…" when cut.
inline std::string escape_for_log(std::string_view in, std::size_t max_len = kLogNoLimit) {
  std::string out;
  out.reserve(in.size() < 128 ? in.size() + 8 : 136);
  append_escaped_for_log(out, in, max_len);
  return out;
}

}  // namespace sinkhole::util
