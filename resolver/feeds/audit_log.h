// SPDX-License-Identifier: MIT
// AuditLog: one JSON line per change of a list, appended to `server.audit_log` — what
// changed, from where, by whom, old → new version, entries added and removed, or why a new
// version was refused. The record a regulator or an incident review asks for; a line is
// written before the change is reported done. Any thread (a mutex; never a worker).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace sinkhole::feeds {

struct AuditEvent {
  std::string list;
  std::string event;   // "installed", "refused", "added", "removed", "blocked", "unblocked", …
  std::string source;  // "rpz", "http", "file", "push", "override"
  std::string who;     // "feed", "ctl", "file"
  std::string origin;  // primary, URL, file
  std::string old_version, new_version;
  std::optional<int64_t> added, removed;  // entries, when known
  // How added/removed were counted: "exact" (a set difference, an IXFR's records) or "net"
  // (the difference of the entry counts: a changed file list); "" when not said.
  std::string counts;
  std::optional<uint64_t> entries;  // after the change
  std::string reason;               // refusals and failures; --reason of block
  std::string name;  // block / unblock: the domain name
};

class AuditLog {
 public:
  explicit AuditLog(std::string path) : path_(std::move(path)) {}
  // Appends one line ({"time": RFC 3339 UTC, …}); false (and `error`) when it could not be
  // written, which the caller logs. An empty path: off, always true.
  bool append(const AuditEvent& e, std::string* error = nullptr);
  const std::string& path() const { return path_; }
  // The line for `e` at `unix_ms`, without the newline (tests, and append).
  static std::string line(const AuditEvent& e, int64_t unix_ms);

 private:
  std::mutex mu_;
  std::string path_;
};

}  // namespace sinkhole::feeds
