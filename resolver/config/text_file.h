// SPDX-License-Identifier: MIT
// Reads a whole text file, with the reason when it cannot ("path: cannot read: reason").
// Load path only.
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace sinkhole::config {

inline std::optional<std::string> read_text_file(const std::string& path, std::string* error) {
  std::ifstream f(path);
  if (!f) {
    if (error) *error = fmt::format("{}: cannot read: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace sinkhole::config
