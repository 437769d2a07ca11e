// SPDX-License-Identifier: MIT
// list_changes: a reload's effect on file lists as audit events — added and removed lists
// (exact counts), a changed file list (who: file, mtime versions, net added/removed),
// nothing for an unchanged list or a feed's candidate, a refusal with the version kept —
// and the status record_reload leaves (version, entries, last success, time to enforce).
#include "resolver/feeds/list_changes.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace {

using sinkhole::feeds::AuditEvent;
using sinkhole::policy::ListData;
using sinkhole::policy::PolicySnapshot;

ListData list(const std::string& name, int64_t mtime, size_t entries) {
  ListData l;
  l.name = name;
  l.path = "/etc/sinkholed/lists/" + name + ".txt";
  l.file_mtime_unix = mtime;
  l.stats.entries = entries;
  return l;
}

}  // namespace

TEST_CASE("list_changes: added, removed, changed; unchanged and candidates left out") {
  PolicySnapshot before, after;
  before.lists = {list("same", 100, 5), list("edited", 100, 10), list("gone", 100, 3),
                  list("pushed", 100, 4)};
  after.lists = {list("same", 100, 5), list("edited", 1'764'993'662, 7), list("new", 200, 2),
                 list("pushed", 300, 9)};
  const auto events = sinkhole::feeds::published_changes(&before, after, {"pushed"});
  REQUIRE(events.size() == 3);
  const AuditEvent& edited = events[0];
  CHECK(edited.list == "edited");
  CHECK(edited.event == "installed");
  CHECK(edited.who == "file");
  CHECK(edited.source == "file");
  CHECK(edited.origin == "/etc/sinkholed/lists/edited.txt");
  CHECK(edited.old_version == "mtime 1970-01-01T00:01:40Z");
  CHECK(edited.new_version == "mtime 2025-12-06T04:01:02Z");
  CHECK(*edited.added == 0);
  CHECK(*edited.removed == 3);
  CHECK(edited.counts == "net");
  CHECK(*edited.entries == 7);
  CHECK(events[1].list == "new");
  CHECK(events[1].event == "added");
  CHECK(*events[1].added == 2);
  CHECK(events[1].counts == "exact");
  CHECK(events[2].list == "gone");
  CHECK(events[2].event == "removed");
  CHECK(*events[2].removed == 3);
  // The line: one JSON object with every field.
  const auto j = nlohmann::json::parse(sinkhole::feeds::AuditLog::line(edited, 1'764'993'662'123));
  CHECK(j["time"] == "2025-12-06T04:01:02.123Z");
  CHECK(j["who"] == "file");
  CHECK(j["old_version"] == "mtime 1970-01-01T00:01:40Z");
  CHECK(j["removed"] == 3);
  CHECK(j["added"] == 0);
  CHECK(j["counts"] == "net");
  // At start there is nothing to compare with.
  CHECK(sinkhole::feeds::published_changes(nullptr, after, {}).empty());
}

TEST_CASE("list_changes: a refused file list keeps its version; a candidate's is not ours") {
  PolicySnapshot serving;
  serving.lists = {list("mic", 100, 10), list("feed", 100, 10)};
  const std::vector<sinkhole::policy::ListRefusal> refused = {
      {"mic", "shrink", "list mic: lost 90% — refusing to publish"},
      {"feed", "empty", "list feed: no entry"}};
  const auto events = sinkhole::feeds::refused_changes(serving, refused, {"feed"});
  REQUIRE(events.size() == 1);
  CHECK(events[0].list == "mic");
  CHECK(events[0].event == "refused");
  CHECK(events[0].old_version == "mtime 1970-01-01T00:01:40Z");
  CHECK(events[0].new_version.empty());
  CHECK(*events[0].entries == 10);
  CHECK(events[0].reason == "list mic: lost 90% — refusing to publish");
}

TEST_CASE("record_reload: the status of file lists, and the time to enforce of a change") {
  sinkhole::feeds::AuditLog audit("");  // off
  sinkhole::feeds::FeedStatus status;
  PolicySnapshot before, after;
  before.lists = {list("a", 100, 5), list("b", 100, 5)};
  after.lists = {list("a", 100, 5), list("b", 150, 6)};
  sinkhole::feeds::record_reload(audit, status, true, nullptr, before, {}, {}, 0, 1'000'000);
  CHECK(status.get("a")->last_success_ms == 1'000'000);
  CHECK(status.get("a")->seen_ms == 0);  // at start: no change measured
  sinkhole::feeds::record_reload(audit, status, true, &before, after, {}, {}, 1'999'250, 2'000'000);
  const auto a = *status.get("a");
  const auto b = *status.get("b");
  CHECK(a.last_success_ms == 2'000'000);
  CHECK(a.seen_ms == 0);  // unchanged
  CHECK(b.source == "file");
  CHECK(b.version == "mtime 1970-01-01T00:02:30Z");
  CHECK(b.entries == 6);
  CHECK(b.enforced_ms - b.seen_ms == 750);
  // A refusal: the error and the count, the last success unchanged.
  sinkhole::feeds::record_reload(audit, status, false, nullptr, after,
                                 {{"b", "shrink", "list b: shrunk"}}, {}, 0, 3'000'000);
  CHECK(status.get("b")->last_error == "list b: shrunk");
  CHECK(status.get("b")->refused == 1);
  CHECK(status.get("b")->last_success_ms == 2'000'000);
  CHECK(status.get("b")->last_attempt_ms == 3'000'000);
}

TEST_CASE("record_reload: a feed's build leaves a refused file list's status alone") {
  sinkhole::feeds::AuditLog audit("");  // off
  sinkhole::feeds::FeedStatus status;
  PolicySnapshot serving;
  serving.lists = {list("casinos", 100, 5), list("pushed", 100, 4)};
  sinkhole::feeds::record_reload(audit, status, true, nullptr, serving, {}, {}, 0, 1'000'000);
  sinkhole::feeds::record_reload(audit, status, false, nullptr, serving,
                                 {{"casinos", "empty", "list casinos: no entry"}}, {}, 0,
                                 2'000'000);
  // A feed's build publishes (it read only the pushed copy): casinos is still refused.
  PolicySnapshot next = serving;
  next.lists[1] = list("pushed", 300, 9);
  sinkhole::feeds::record_reload(audit, status, true, &serving, next, {}, {"pushed"}, 2'500'000,
                                 3'000'000, /*feed_build=*/true);
  CHECK(status.get("casinos")->state == "refused");
  CHECK(status.get("casinos")->last_error == "list casinos: no entry");
  CHECK(status.get("casinos")->last_success_ms == 1'000'000);
  CHECK(status.get("pushed")->last_success_ms == 3'000'000);
  CHECK(status.get("pushed")->entries == 9);
  // The same publication as a reload would have read casinos again: ok.
  sinkhole::feeds::record_reload(audit, status, true, &serving, next, {}, {"pushed"}, 0, 4'000'000);
  CHECK(status.get("casinos")->state == "ok");
}
