// SPDX-License-Identifier: MIT
// Reads a configuration file (util/read_file.h), its error worded as a configuration
// diagnostic: "path: cannot read: reason". Load path only.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>

#include "util/read_file.h"

namespace sinkhole::config {

inline std::optional<std::string> read_text_file(const std::string& path, std::string* error) {
  std::string reason;
  auto text = util::read_file(path, &reason);
  if (!text && error) *error = fmt::format("{}: cannot read: {}", path, reason);
  return text;
}

}  // namespace sinkhole::config
