// SPDX-License-Identifier: MIT
// Where a list's copies live in the state directory: <state_dir>/lists/<name>/<slot>, with
// `<slot>.meta.json` beside each (resolver/feeds/list_store.h writes them). The snapshot
// builder reads a feed list's `current` copy (or this build's `candidate`) from here, so a
// restart serves the last good copy at once, whether or not its source answers. Pure; any
// thread.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>

namespace sinkhole::policy {

inline constexpr std::string_view kCopyCurrent = "current";      // serving (validated)
inline constexpr std::string_view kCopyPrevious = "previous";    // the one before it
inline constexpr std::string_view kCopyCandidate = "candidate";  // fetched, not yet built
inline constexpr std::string_view kCopyStaged = "staged";        // sinkholectl list stage

// A list name as one safe path component: [A-Za-z0-9_-] and non-leading '.' as they are,
// anything else %XX, so no name can climb out of <state_dir>/lists.
inline std::string list_dir_name(std::string_view list) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < list.size(); ++i) {
    const auto c = static_cast<unsigned char>(list[i]);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-' || (c == '.' && i > 0);
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out.empty() ? "%" : out;
}

inline std::string list_copies_dir(std::string_view state_dir, std::string_view list) {
  return std::string(state_dir) + "/lists/" + list_dir_name(list);
}

inline std::string list_copy_path(std::string_view state_dir, std::string_view list,
                                  std::string_view slot) {
  return list_copies_dir(state_dir, list) + "/" + std::string(slot);
}

// A file's identity for "has it changed since": modification time (ns) and size, or
// "absent". A push over a file list records its file's (CopyMeta::over_file); the pushed
// copy serves until the file's differs.
inline std::string file_fingerprint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "absent";
  return std::to_string(static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL +
                        st.st_mtim.tv_nsec) +
         " " + std::to_string(static_cast<long long>(st.st_size));
}

}  // namespace sinkhole::policy
