// SPDX-License-Identifier: MIT
// The whole-file reader every box uses (block lists, the configuration, resolv.conf): one
// read loop into a string reserved from the file's size, so a million-line list costs no
// per-line iostream work. A directory is an error, though fopen accepts one.
//
// Header-only and below every box (it needs only libc), so that blocklist can use it
// without depending on resolver/config. Load path only; any thread.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace sinkhole::util {

// The file's bytes, or nullopt and the reason (strerror text, without the path) in *error.
inline std::optional<std::string> read_file(const std::string& path, std::string* error) {
  auto fail = [error](int err) {
    if (error) *error = std::strerror(err);
    return std::nullopt;
  };
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return fail(errno);
  struct stat st {};
  if (fstat(fileno(f.get()), &st) != 0) return fail(errno);
  if (S_ISDIR(st.st_mode)) return fail(EISDIR);
  std::string out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.append(buf, n);
  if (std::ferror(f.get())) return fail(errno);
  return out;
}

}  // namespace sinkhole::util
