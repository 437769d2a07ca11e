// SPDX-License-Identifier: MIT
#include "resolver/feeds/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "resolver/feeds/list_store.h"

namespace sinkhole::feeds {

std::string AuditLog::line(const AuditEvent& e, int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char stamp[40];
  const size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  nlohmann::ordered_json j;
  j["time"] = stamp;
  j["list"] = e.list;
  j["event"] = e.event;
  j["source"] = e.source;
  j["who"] = e.who;
  if (!e.origin.empty()) j["origin"] = e.origin;
  j["old_version"] = e.old_version;
  j["new_version"] = e.new_version;
  if (e.added) j["added"] = *e.added;
  if (e.removed) j["removed"] = *e.removed;
  if (!e.counts.empty()) j["counts"] = e.counts;
  if (e.entries) j["entries"] = *e.entries;
  if (!e.name.empty()) j["name"] = e.name;
  if (!e.reason.empty()) j["reason"] = e.reason;
  // Names and reasons can hold anything a list or a feed sent: replace, never throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool AuditLog::append(const AuditEvent& e, std::string* error) {
  if (path_.empty()) return true;
  const std::string text = line(e, unix_now_ms()) + "\n";
  std::lock_guard lock(mu_);
  // Opened per line: rare events, and a rotated file (logrotate) is simply re-created.
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    if (error) *error = path_ + ": " + std::strerror(errno);
    return false;
  }
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int saved = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    if (error) *error = path_ + ": " + (n < 0 ? std::strerror(saved) : "short write");
    return false;
  }
  return true;
}

}  // namespace sinkhole::feeds
