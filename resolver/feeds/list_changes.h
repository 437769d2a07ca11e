// SPDX-License-Identifier: MIT
// What a reload did to the lists, for the audit log and the list status (FeedStatus): the
// changes feeds do not report themselves. Comparing the snapshot serving before a build
// with the one after it: a list added to or removed from the configuration (any source), a
// file list whose content changed (who: file — an edit noticed by the file watcher, a
// SIGHUP, `sinkholectl reload`), and a file list the list guard refused (the version
// serving stays). Feed lists' new copies (RPZ, HTTP, pushes) are audited by the feed
// manager when it promotes or discards their candidate, so they are left out here.
//
// A file list's version is what the snapshot knows of its content without reading it
// again: the file's modification time ("mtime 2026-12-06T04:01:02Z"), with the entry
// count beside it. Entries added and removed are the net change of the entry count
// (`"counts":"net"` in the line): an exact set difference would need both versions' names,
// which a 1M-name list does not keep.
// Pure functions, plus `record_reload` which applies them; control thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/list_guard.h"
#include "policy/snapshot.h"
#include "resolver/feeds/audit_log.h"
#include "resolver/feeds/feed_status.h"

namespace sinkhole::feeds {

// "mtime 2026-12-06T04:01:02Z": the version of a file list's content.
std::string file_version(const policy::ListData& l);

// The audit events of a successful build: `before` the snapshot that served until now (null
// at start: nothing is reported), `after` the one published; `from_candidates` the lists
// this build read from a candidate copy (the feed manager audits those).
std::vector<AuditEvent> published_changes(const policy::PolicySnapshot* before,
                                          const policy::PolicySnapshot& after,
                                          const std::vector<std::string>& from_candidates);

// The audit events of a failed build's refusals of file lists (`serving`: the snapshot that
// keeps serving); refusals of candidates are the feed manager's.
std::vector<AuditEvent> refused_changes(const policy::PolicySnapshot& serving,
                                        const std::vector<policy::ListRefusal>& refused,
                                        const std::vector<std::string>& from_candidates);

// After a build: appends the events above to `audit` (errors logged) and updates the status
// of every file list — source, version, entries, last attempt and success (or the refusal as
// last error) and, for a list whose content changed, seen (`requested_ms`: when the reload
// that read it was asked for, by the watcher, a signal or sinkholectl) and enforced (`now_ms`)
// times. At start (`before` null) only the status is set. `feed_build`: a feed's build
// (Reloader::Kind::kFeed) read no file list but those in `from_candidates` (pushes): the
// others' status — a refusal by the last reload included — stays as it is.
void record_reload(AuditLog& audit, FeedStatus& status, bool published,
                   const policy::PolicySnapshot* before, const policy::PolicySnapshot& serving,
                   const std::vector<policy::ListRefusal>& refused,
                   const std::vector<std::string>& from_candidates, int64_t requested_ms,
                   int64_t now_ms, bool feed_build = false);

}  // namespace sinkhole::feeds
