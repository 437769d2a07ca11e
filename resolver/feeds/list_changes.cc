// SPDX-License-Identifier: MIT
#include "resolver/feeds/list_changes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace sinkhole::feeds {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const char* source_of(const policy::ListData& l) {
  return policy::source_name(l.source.kind);
}

std::string origin_of(const policy::ListData& l) {
  switch (l.source.kind) {
    case policy::ListSource::Kind::kHttp:
      return l.source.http.url;
    case policy::ListSource::Kind::kRpz:
      return l.source.rpz.primaries.empty() ? "" : l.source.rpz.primaries.front().to_string();
    case policy::ListSource::Kind::kFile:
      break;
  }
  return l.path;
}

AuditEvent event_for(const policy::ListData& l, const char* what) {
  AuditEvent e;
  e.list = l.name;
  e.event = what;
  e.source = source_of(l);
  e.who = "file";  // the configuration file or a list file: whoever edits the files
  e.origin = origin_of(l);
  return e;
}

// A file list's content changed: another file, another modification time, or another
// count of entries or rules (a rewrite within the same second).
bool content_changed(const policy::ListData& a, const policy::ListData& b) {
  return a.path != b.path || a.file_mtime_unix != b.file_mtime_unix ||
         a.stats.entries != b.stats.entries || a.stats.rules != b.stats.rules ||
         a.format != b.format;
}

}  // namespace

std::string file_version(const policy::ListData& l) {
  const std::time_t t = static_cast<std::time_t>(l.file_mtime_unix);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "mtime %Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<AuditEvent> published_changes(const policy::PolicySnapshot* before,
                                          const policy::PolicySnapshot& after,
                                          const std::vector<std::string>& from_candidates) {
  std::vector<AuditEvent> out;
  if (!before) return out;
  std::map<std::string, const policy::ListData*> old;
  for (const auto& l : before->lists) old.emplace(l.name, &l);
  for (const auto& l : after.lists) {
    const auto it = old.find(l.name);
    if (it == old.end()) {
      AuditEvent e = event_for(l, "added");
      if (!l.source.is_feed()) e.new_version = file_version(l);
      e.added = static_cast<int64_t>(l.stats.entries);
      e.removed = 0;
      e.counts = "exact";
      e.entries = l.stats.entries;
      out.push_back(std::move(e));
      continue;
    }
    const policy::ListData& was = *it->second;
    old.erase(it);
    if (l.source.is_feed() || was.source.is_feed() || contains(from_candidates, l.name) ||
        !content_changed(was, l))
      continue;
    AuditEvent e = event_for(l, "installed");
    e.old_version = file_version(was);
    e.new_version = file_version(l);
    const auto n = static_cast<int64_t>(l.stats.entries);
    const auto o = static_cast<int64_t>(was.stats.entries);
    e.added = std::max<int64_t>(0, n - o);
    e.removed = std::max<int64_t>(0, o - n);
    e.counts = "net";
    e.entries = l.stats.entries;
    out.push_back(std::move(e));
  }
  for (const auto& [name, l] : old) {  // left the configuration
    AuditEvent e = event_for(*l, "removed");
    if (!l->source.is_feed()) e.old_version = file_version(*l);
    e.added = 0;
    e.removed = static_cast<int64_t>(l->stats.entries);
    e.counts = "exact";
    e.entries = 0;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<AuditEvent> refused_changes(const policy::PolicySnapshot& serving,
                                        const std::vector<policy::ListRefusal>& refused,
                                        const std::vector<std::string>& from_candidates) {
  std::vector<AuditEvent> out;
  for (const auto& r : refused) {
    if (contains(from_candidates, r.list)) continue;
    const auto it = std::find_if(serving.lists.begin(), serving.lists.end(),
                                 [&](const policy::ListData& l) { return l.name == r.list; });
    if (it != serving.lists.end() && it->source.is_feed()) continue;
    AuditEvent e;
    e.list = r.list;
    e.event = "refused";
    e.source = "file";
    e.who = "file";
    if (it != serving.lists.end()) {
      e.origin = it->path;
      e.old_version = file_version(*it);
      e.entries = it->stats.entries;  // still serving
    }
    e.reason = r.message;
    out.push_back(std::move(e));
  }
  return out;
}

void record_reload(AuditLog& audit, FeedStatus& status, bool published,
                   const policy::PolicySnapshot* before, const policy::PolicySnapshot& serving,
                   const std::vector<policy::ListRefusal>& refused,
                   const std::vector<std::string>& from_candidates, int64_t requested_ms,
                   int64_t now_ms, bool feed_build) {
  const std::vector<AuditEvent> events = published
                                             ? published_changes(before, serving, from_candidates)
                                             : refused_changes(serving, refused, from_candidates);
  for (const auto& e : events) {
    std::string err;
    if (!audit.append(e, &err)) spdlog::error("audit log: {}", err);
  }
  if (!published) {
    for (const auto& e : events)
      status.update(e.list, [&](ListFeedState& s) {
        s.last_attempt_ms = now_ms;
        s.last_error = e.reason;
        ++s.failures;
        ++s.refused;
        s.state = "refused";
      });
    return;
  }
  for (const auto& l : serving.lists) {
    if (l.source.is_feed()) continue;
    if (feed_build &&
        std::find(from_candidates.begin(), from_candidates.end(), l.name) == from_candidates.end())
      continue;
    const bool changed = std::any_of(events.begin(), events.end(), [&](const AuditEvent& e) {
      return e.list == l.name && (e.event == "installed" || e.event == "added");
    });
    status.update(l.name, [&](ListFeedState& s) {
      s.source = source_of(l);
      s.origin = l.path;
      s.version = file_version(l);
      s.serial.reset();
      s.entries = l.stats.entries;
      s.last_attempt_ms = now_ms;
      s.last_success_ms = now_ms;
      s.last_error.clear();
      s.state = "ok";
      if (changed && requested_ms > 0) {
        s.seen_ms = std::min(requested_ms, now_ms);
        s.enforced_ms = now_ms;
      }
    });
  }
  if (before)  // a file list that left the configuration leaves the status too
    for (const auto& e : events)
      if (e.event == "removed") status.erase(e.list);
}

}  // namespace sinkhole::feeds
