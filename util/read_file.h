// SPDX-License-Identifier: MIT
// The whole-file reader every box uses (block lists, the configuration, resolv.conf): one
// read loop into a string reserved from the file's size, so a million-line list costs no
// per-line iostream work. A directory is an error, though fopen accepts one.
//
// read_regular_file is for files an operator's tools replace while we run (block lists):
// it refuses anything but a regular file without blocking (a FIFO opened for reading would
// wait for a writer forever, holding the reload and the shutdown behind it).
//
// Header-only and below every box (it needs only libc), so that blocklist can use it
// without depending on resolver/config. Load path only; any thread.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace sinkhole::util {

// "a FIFO", "a directory", ...: what a file that is not regular is, for messages.
inline const char* file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

namespace read_file_detail {

inline std::optional<std::string> read_all(FILE* f, const struct stat& st, std::string* error) {
  std::string out;
  // The size stat gave is read straight into the string (a 78 MB zone is not copied
  // through a buffer); a file that grew meanwhile is read on in chunks.
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    out.resize(static_cast<size_t>(st.st_size));
    out.resize(std::fread(out.data(), 1, out.size(), f));
  }
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (std::ferror(f)) {
    if (error) *error = std::strerror(errno);
    return std::nullopt;
  }
  return out;
}

}  // namespace read_file_detail

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
  return read_file_detail::read_all(f.get(), st, error);
}

// Like read_file, but only a regular file: anything else (FIFO, device, directory, socket)
// fails at once with "not a regular file (a FIFO)". Opened with O_NONBLOCK, then checked
// with fstat, so a FIFO swapped in after a stat() cannot block us either.
inline std::optional<std::string> read_regular_file(const std::string& path, std::string* error) {
  auto fail = [error](std::string reason) {
    if (error) *error = std::move(reason);
    return std::nullopt;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return fail(std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(std::string("not a regular file (") + file_kind(st.st_mode) + ")");
  }
  std::unique_ptr<FILE, int (*)(FILE*)> f(::fdopen(fd, "rb"), &std::fclose);
  if (!f) {
    const int err = errno;
    ::close(fd);
    return fail(std::strerror(err));
  }
  return read_file_detail::read_all(f.get(), st, error);
}

}  // namespace sinkhole::util
