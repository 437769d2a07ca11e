// SPDX-License-Identifier: MIT
#include "resolver/feeds/list_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "policy/list_copies.h"
#include "util/read_file.h"

namespace sinkhole::feeds {

namespace {

using Json = nlohmann::json;

std::string meta_path(const std::string& copy) {
  return copy + ".meta.json";
}

Json to_json(const CopyMeta& m) {
  Json j = {{"source", m.source},
            {"who", m.who},
            {"origin", m.origin},
            {"version", m.version},
            {"etag", m.etag},
            {"last_modified", m.last_modified},
            {"hash", m.hash},
            {"bytes", m.bytes},
            {"seen_unix_ms", m.seen_unix_ms},
            {"written_unix_ms", m.written_unix_ms}};
  if (m.serial) j["serial"] = *m.serial;
  if (!m.over_file.empty()) j["over_file"] = m.over_file;
  return j;
}

// Writes the whole buffer to `path` through a temporary file in the same directory.
std::string write_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return fmt::format("cannot create {}: {}", tmp, std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string err = fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return fmt::format("cannot sync {}: {}", tmp, std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fmt::format("cannot rename {} to {}: {}", tmp, path, std::strerror(errno));
  }
  return "";
}

void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

bool ensure_state_dir(const std::string& dir, std::string* error) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return true;
    if (error) *error = fmt::format("state directory {} is not a directory", dir);
    return false;
  }
  if (::mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST) return true;
  if (error)
    *error = fmt::format("cannot create state directory {} (server.state_dir): {}", dir,
                         std::strerror(errno));
  return false;
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ListStore::path(std::string_view list, std::string_view slot) const {
  return policy::list_copy_path(state_dir_, list, slot);
}

std::string ListStore::ensure_dir(std::string_view list) const {
  // The state directory itself is made by systemd (StateDirectory=) or the operator; only
  // `lists/` and the list's own directory are made here.
  const std::string lists = state_dir_ + "/lists";
  for (const std::string& d : {lists, policy::list_copies_dir(state_dir_, list)})
    if (::mkdir(d.c_str(), 0750) != 0 && errno != EEXIST)
      return fmt::format("cannot create {}: {}", d, std::strerror(errno));
  return "";
}

std::string ListStore::write(std::string_view list, std::string_view slot, std::string_view bytes,
                             const CopyMeta& meta) const {
  if (auto err = ensure_dir(list); !err.empty()) return err;
  const std::string copy = path(list, slot);
  CopyMeta m = meta;
  m.bytes = bytes.size();
  if (m.written_unix_ms == 0) m.written_unix_ms = unix_now_ms();
  // The meta first: a crash between the two leaves new meta over the old copy, which only
  // makes the next fetch ask again; the reverse could pair new bytes with an old ETag.
  if (auto err = write_atomically(meta_path(copy), to_json(m).dump() + "\n"); !err.empty())
    return err;
  if (auto err = write_atomically(copy, bytes); !err.empty()) return err;
  sync_dir(policy::list_copies_dir(state_dir_, list));
  return "";
}

std::string ListStore::move(std::string_view list, std::string_view from,
                            std::string_view to) const {
  const std::string a = path(list, from), b = path(list, to);
  if (::rename(a.c_str(), b.c_str()) != 0)
    return fmt::format("cannot rename {} to {}: {}", a, b, std::strerror(errno));
  if (::rename(meta_path(a).c_str(), meta_path(b).c_str()) != 0 && errno != ENOENT)
    return fmt::format("cannot rename {} to {}: {}", meta_path(a), meta_path(b),
                       std::strerror(errno));
  sync_dir(policy::list_copies_dir(state_dir_, list));
  return "";
}

std::string ListStore::promote_candidate(std::string_view list) const {
  if (!exists(list, policy::kCopyCandidate))
    return fmt::format("no candidate copy of list {}", list);
  if (exists(list, policy::kCopyCurrent))
    if (auto err = move(list, policy::kCopyCurrent, policy::kCopyPrevious); !err.empty())
      return err;
  return move(list, policy::kCopyCandidate, policy::kCopyCurrent);
}

void ListStore::remove(std::string_view list, std::string_view slot) const {
  const std::string p = path(list, slot);
  ::unlink(p.c_str());
  ::unlink(meta_path(p).c_str());
}

bool ListStore::exists(std::string_view list, std::string_view slot) const {
  struct stat st {};
  return ::stat(path(list, slot).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::optional<CopyMeta> ListStore::meta(std::string_view list, std::string_view slot) const {
  const auto text = util::read_file(meta_path(path(list, slot)), nullptr);
  if (!text) return std::nullopt;
  try {
    const Json j = Json::parse(*text);
    CopyMeta m;
    m.source = j.value("source", "");
    m.who = j.value("who", "");
    m.origin = j.value("origin", "");
    m.version = j.value("version", "");
    m.etag = j.value("etag", "");
    m.last_modified = j.value("last_modified", "");
    m.hash = j.value("hash", "");
    m.bytes = j.value("bytes", uint64_t{0});
    m.seen_unix_ms = j.value("seen_unix_ms", int64_t{0});
    m.written_unix_ms = j.value("written_unix_ms", int64_t{0});
    m.over_file = j.value("over_file", "");
    if (j.contains("serial") && j["serial"].is_number_unsigned())
      m.serial = j["serial"].get<uint32_t>();
    return m;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged meta file: the copy is still good, its version unknown
  }
}

}  // namespace sinkhole::feeds
