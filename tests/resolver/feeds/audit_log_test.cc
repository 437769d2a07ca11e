// SPDX-License-Identifier: MIT
#include "resolver/feeds/audit_log.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/policy/temp_dir.h"
#include "util/read_file.h"

using sinkhole::feeds::AuditEvent;
using sinkhole::feeds::AuditLog;

TEST_CASE("an audit line is one JSON object with the change") {
  AuditEvent e;
  e.list = "mic";
  e.event = "installed";
  e.source = "rpz";
  e.who = "feed";
  e.origin = "127.0.0.30:5470";
  e.old_version = "serial 1";
  e.new_version = "serial 2";
  e.added = 3;
  e.removed = 1;
  e.entries = 9002;
  const std::string line = AuditLog::line(e, 1'765'000'000'123);
  CHECK(line.find('\n') == std::string::npos);
  const auto j = nlohmann::json::parse(line);
  CHECK(j["time"] == "2025-12-06T05:46:40.123Z");
  CHECK(j["list"] == "mic");
  CHECK(j["event"] == "installed");
  CHECK(j["old_version"] == "serial 1");
  CHECK(j["new_version"] == "serial 2");
  CHECK(j["added"] == 3);
  CHECK(j["removed"] == 1);
  CHECK(j["entries"] == 9002);
  CHECK_FALSE(j.contains("reason"));
}

TEST_CASE("hostile bytes in an audit line are replaced, never thrown on") {
  AuditEvent e;
  e.list = "l";
  e.reason = std::string("bad \xff\xfe utf8\n");
  const auto j = nlohmann::json::parse(AuditLog::line(e, 0));
  CHECK(j["reason"].get<std::string>().find("utf8") != std::string::npos);
}

TEST_CASE("lines are appended; an empty path is off; a bad path is an error") {
  sinkhole::test::TempDir tmp;
  AuditLog log(tmp.path("audit.log"));
  AuditEvent e;
  e.list = "a";
  REQUIRE(log.append(e));
  e.list = "b";
  REQUIRE(log.append(e));
  const auto text = sinkhole::util::read_file(tmp.path("audit.log"), nullptr);
  REQUIRE(text);
  CHECK(std::count(text->begin(), text->end(), '\n') == 2);
  CHECK(text->find("\"list\":\"b\"") != std::string::npos);
  AuditLog off("");
  CHECK(off.append(e));
  AuditLog bad("/proc/no-such-dir/audit.log");
  std::string error;
  CHECK_FALSE(bad.append(e, &error));
  CHECK_FALSE(error.empty());
}
