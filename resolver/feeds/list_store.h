// SPDX-License-Identifier: MIT
// ListStore: a list's copies in the state directory (policy/list_copies.h says where):
// `current` (the copy serving, checked by a successful build), `previous` (the one before:
// last-known-good), `candidate` (new content a feed fetched or sinkholectl pushed, waiting
// for a build to check it) and `staged` (sinkholectl list stage). Each copy has a
// `<slot>.meta.json`: where it came from and which version it is. Writes are atomic (a
// temporary file, fsync, rename, fsync of the directory), so a crash leaves the old copy
// or the new one, never half of one. Control thread and feed work threads; one writer per
// list (its feed), which the feed manager guarantees.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sinkhole::feeds {

// What a copy is. Serialized as JSON beside it.
struct CopyMeta {
  std::string source;              // "rpz", "http", "push", "override", "file"
  std::string who;                 // "feed", "ctl", "file"
  std::string origin;              // the primary or URL it came from, the pushed file's name
  std::string version;             // "serial 2026120601", "etag \"abc\"", "sha256 …": shown as is
  std::optional<uint32_t> serial;  // RPZ
  std::string etag, last_modified;  // HTTP validators for the next request
  std::string hash;                 // hex digest of the bytes, when the writer computed one
  uint64_t bytes = 0;
  int64_t seen_unix_ms = 0;  // when the change was first seen (NOTIFY, new ETag, push)
  int64_t written_unix_ms = 0;
  // A push over a file list: the configured file's fingerprint at the push
  // (policy::file_fingerprint); the pushed copy serves until the file's differs.
  std::string over_file;
};

class ListStore {
 public:
  explicit ListStore(std::string state_dir) : state_dir_(std::move(state_dir)) {}
  const std::string& state_dir() const { return state_dir_; }

  // <state_dir>/lists/<list>/<slot>.
  std::string path(std::string_view list, std::string_view slot) const;

  // Writes `bytes` as the copy in `slot` with its meta, atomically; "" or the error.
  std::string write(std::string_view list, std::string_view slot, std::string_view bytes,
                    const CopyMeta& meta) const;
  // Moves the copy (and its meta) in `from` to `to`, replacing it; "" or the error.
  std::string move(std::string_view list, std::string_view from, std::string_view to) const;
  // After a build that read the candidate was published: current → previous, candidate →
  // current. "" or the error.
  std::string promote_candidate(std::string_view list) const;
  void remove(std::string_view list, std::string_view slot) const;
  bool exists(std::string_view list, std::string_view slot) const;
  std::optional<CopyMeta> meta(std::string_view list, std::string_view slot) const;

 private:
  std::string ensure_dir(std::string_view list) const;  // "" or the error
  std::string state_dir_;
};

// Makes server.state_dir (one level, like systemd's StateDirectory=) when missing; false and
// `error` when it is not a usable directory.
bool ensure_state_dir(const std::string& dir, std::string* error);

// Milliseconds since the epoch, for the meta and status times.
int64_t unix_now_ms();

}  // namespace sinkhole::feeds
