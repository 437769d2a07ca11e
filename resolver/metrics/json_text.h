// SPDX-License-Identifier: MIT
// One JSON string literal: quotes, backslash escapes and \u00XX for control bytes. Shared
// by every hand-written JSON reply (status, stats, lists, explain) so they escape alike.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace sinkhole::metrics {

inline std::string json_quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace sinkhole::metrics
