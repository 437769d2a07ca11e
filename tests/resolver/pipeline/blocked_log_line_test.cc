// SPDX-License-Identifier: MIT
// The blocked-query log line, both spellings of the same fields: the documented text
// form, and JSON Lines that a JSON parser reads back field for field — whatever quotes,
// backslashes, control bytes or invalid UTF-8 a query name or a configured name holds.
#include "resolver/pipeline/blocked_log_line.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "resolver/dns/name.h"

namespace {

using sinkhole::pipeline::BlockedLogFields;
using sinkhole::pipeline::format_blocked_line;
using sinkhole::pipeline::LogLineBuffer;
using Format = sinkhole::config::LogConfig::BlockedFormat;

std::string line(const BlockedLogFields& f, Format format) {
  LogLineBuffer out;
  std::string scratch;
  format_blocked_line(f, format, out, scratch);
  return std::string(out.data(), out.size());
}

BlockedLogFields casino() {
  BlockedLogFields f;
  f.event = "blocked";
  f.name = "www.casino.example.";
  f.qtype = 28;
  f.policy = "subscribers";
  f.list = "casinos";
  f.category = "gambling";
  f.action = "warning";
  f.rcode = 0;
  f.line = 12;
  f.client = "203.0.113.0/24";
  f.unix_ms = 1'777'629'600'123;  // 2026-05-01T10:00:00.123Z
  return f;
}

}  // namespace

TEST_CASE("text: the documented key=value line") {
  auto f = casino();
  CHECK(line(f, Format::kText) ==
        "blocked name=www.casino.example. qtype=AAAA policy=subscribers list=casinos "
        "category=gambling action=warning rcode=NOERROR line=12 client=203.0.113.0/24");
  f.client = {};
  f.rcode = -1;  // dropped: no answer
  f.qtype = 65280;
  f.event = "monitored";
  CHECK(line(f, Format::kText) ==
        "monitored name=www.casino.example. qtype=TYPE65280 policy=subscribers list=casinos "
        "category=gambling action=warning rcode=- line=12");
  f.rcode = 3;
  CHECK(line(f, Format::kText).find(" rcode=NXDOMAIN ") != std::string::npos);
  f.rcode = 12;
  CHECK(line(f, Format::kText).find(" rcode=RCODE12 ") != std::string::npos);
}

TEST_CASE("json: one object per line, every field, the time in UTC") {
  auto f = casino();
  const std::string text = line(f, Format::kJson);
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text ==
        "{\"time\":\"2026-05-01T10:00:00.123Z\",\"event\":\"blocked\",\"client\":\"203.0.113.0/"
        "24\",\"name\":\"www.casino.example.\",\"qtype\":\"AAAA\",\"policy\":\"subscribers\","
        "\"list\":\"casinos\",\"category\":\"gambling\",\"action\":\"warning\",\"rcode\":"
        "\"NOERROR\",\"line\":12}");
  const auto j = nlohmann::json::parse(text);
  CHECK(j["rcode"] == "NOERROR");
  f.client = {};
  f.rcode = -1;
  const auto k = nlohmann::json::parse(line(f, Format::kJson));
  CHECK_FALSE(k.contains("client"));  // log.client_address: none
  CHECK(k["rcode"].is_null());
  CHECK(k["line"] == 12);
}

TEST_CASE("json and text: hostile names stay one line and parse back") {
  // A query name with a newline, an ESC sequence, a quote, a backslash and a byte that is
  // not UTF-8; configured names with quotes, backslashes and a tab.
  const uint8_t wire[] = {8, 'a', '\n', '"', '\\', 0x1b, '[', '3', 0xff,
                          7, 'e', 'x',  'a', 'm',  'p',  'l', 'e', 0};
  std::string name;
  sinkhole::dns::append_wire_log_text(name, wire, sizeof wire);
  auto f = casino();
  f.name = name;
  f.policy = "we\"ird\\policy";
  f.category = "ca\"t\teg";
  for (const Format format : {Format::kText, Format::kJson}) {
    const std::string l = line(f, format);
    CAPTURE(l);
    CHECK(l.find('\n') == std::string::npos);
    CHECK(l.find('\x1b') == std::string::npos);
    CHECK(l.find('\t') == std::string::npos);
    CHECK(l.find('\xff') == std::string::npos);
  }
  const auto j = nlohmann::json::parse(line(f, Format::kJson));
  CHECK(j["name"] == name);  // the log-escaped name, intact
  CHECK(j["name"] == "a\\x0a\"\\\\\\x1b[3\\xff.example.");
  CHECK(j["policy"] == "we\"ird\\\\policy");  // a backslash is escaped for logs first
  CHECK(j["category"] == "ca\"t\\x09eg");
  CHECK(line(f, Format::kText).find(" category=ca\"t\\x09eg ") != std::string::npos);
}

TEST_CASE("a reused buffer stops allocating once it has grown") {
  LogLineBuffer out;
  std::string scratch;
  auto f = casino();
  format_blocked_line(f, Format::kJson, out, scratch);
  const char* data = out.data();
  const size_t capacity = scratch.capacity();
  for (int i = 0; i < 100; ++i) format_blocked_line(f, Format::kJson, out, scratch);
  CHECK(out.data() == data);  // the inline 512 bytes, no heap
  CHECK(scratch.capacity() == capacity);
}

TEST_CASE("the list's legal basis: authority and reference, only when the list has them") {
  auto f = casino();
  f.authority = "MIC";
  f.reference = "Decision 1234/QD-BTTTT";
  // Text: after line=, before client=; a value with a space is quoted (logfmt).
  CHECK(line(f, Format::kText) ==
        "blocked name=www.casino.example. qtype=AAAA policy=subscribers list=casinos "
        "category=gambling action=warning rcode=NOERROR line=12 authority=MIC "
        "reference=\"Decision 1234/QD-BTTTT\" client=203.0.113.0/24");
  const std::string json = line(f, Format::kJson);
  CHECK(
      json.ends_with(",\"line\":12,\"authority\":\"MIC\",\"reference\":\"Decision "
                     "1234/QD-BTTTT\"}"));
  const auto j = nlohmann::json::parse(json);
  CHECK(j["authority"] == "MIC");
  CHECK(j["reference"] == "Decision 1234/QD-BTTTT");
  // Quotes, backslashes and '=' inside a quoted text value are escaped; UTF-8 passes.
  f.authority = "Bộ \"TT&TT\" a=b\\c";
  f.reference = {};
  const std::string text = line(f, Format::kText);
  CHECK(text.find(" authority=\"Bộ \\\"TT&TT\\\" a=b\\\\\\\\c\" client=") != std::string::npos);
  CHECK(text.find("reference=") == std::string::npos);
  const auto k = nlohmann::json::parse(line(f, Format::kJson));
  CHECK(k["authority"] == "Bộ \"TT&TT\" a=b\\\\c");  // the backslash escaped for logs first
  CHECK_FALSE(k.contains("reference"));
  // Without a basis the line is exactly the plain one.
  f.authority = {};
  CHECK(line(f, Format::kText).find("authority") == std::string::npos);
  CHECK_FALSE(nlohmann::json::parse(line(f, Format::kJson)).contains("authority"));
}

TEST_CASE("with a legal basis a reused buffer still stops allocating") {
  LogLineBuffer out;
  std::string scratch;
  auto f = casino();
  f.authority = "Ministry of Information and Communications of the Socialist Republic";
  f.reference = "Decision 1234/QD-BTTTT of the Minister";
  for (const Format format : {Format::kText, Format::kJson}) {
    format_blocked_line(f, format, out, scratch);
    const char* data = out.data();
    const size_t capacity = scratch.capacity();
    for (int i = 0; i < 100; ++i) format_blocked_line(f, format, out, scratch);
    CHECK(out.data() == data);
    CHECK(scratch.capacity() == capacity);
  }
}
