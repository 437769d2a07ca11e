// SPDX-License-Identifier: MIT
#include "resolver/pipeline/blocked_log_line.h"

#include <ctime>
#include <iterator>

#include "resolver/metrics/qtype_slots.h"
#include "util/log_escape.h"

namespace sinkhole::pipeline {

namespace {

using Format = config::LogConfig::BlockedFormat;

// A JSON string body: `"`, `\` and control bytes escaped. The input is escaped for logs
// already, so it is valid UTF-8 without controls; the control case is belt and braces.
void append_json_chars(LogLineBuffer& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(esc, esc + sizeof esc);
    } else {
      out.push_back(ch);
    }
  }
}

void append(LogLineBuffer& out, std::string_view s) {
  out.append(s.data(), s.data() + s.size());
}

// `"key":"value"` (value escaped for logs, then for JSON), with a leading comma.
void json_field(LogLineBuffer& out, std::string_view key, std::string_view value,
                std::string& scratch, bool log_escape = true) {
  append(out, ",\"");
  append(out, key);
  append(out, "\":\"");
  if (log_escape) {
    scratch.clear();
    util::append_escaped_for_log(scratch, value);
    value = scratch;
  }
  append_json_chars(out, value);
  out.push_back('"');
}

// ` key=value` (value escaped for logs).
void text_field(LogLineBuffer& out, std::string_view key, std::string_view value,
                std::string& scratch, bool log_escape = true) {
  out.push_back(' ');
  append(out, key);
  out.push_back('=');
  if (log_escape) {
    scratch.clear();
    util::append_escaped_for_log(scratch, value);
    value = scratch;
  }
  append(out, value);
}

// ` key=value`, the value escaped for logs and, when it holds a space, `"`, `\` or `=`,
// quoted (logfmt): free text such as an authority's name stays one field.
void text_field_quoted(LogLineBuffer& out, std::string_view key, std::string_view value,
                       std::string& scratch) {
  scratch.clear();
  util::append_escaped_for_log(scratch, value);
  out.push_back(' ');
  append(out, key);
  out.push_back('=');
  if (scratch.find_first_of(" \"\\=") == std::string::npos) {
    append(out, scratch);
    return;
  }
  out.push_back('"');
  for (const char ch : scratch) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
}

void append_utc(LogLineBuffer& out, int64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 static_cast<int>(unix_ms % 1000));
}

}  // namespace

std::string_view qtype_text(uint16_t qtype, char (&buf)[16]) {
  const size_t slot = metrics::qtype_slot(qtype);
  if (slot != metrics::kQtypeOther) return metrics::qtype_slot_name(slot);
  const auto r = fmt::format_to_n(buf, sizeof buf, "TYPE{}", qtype);
  return {buf, r.size};
}

std::string_view rcode_text(int rcode, char (&buf)[16]) {
  static constexpr const char* kNames[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                           "NXDOMAIN", "NOTIMP",  "REFUSED"};
  if (rcode < 0) return "-";
  if (rcode < static_cast<int>(std::size(kNames))) return kNames[rcode];
  const auto r = fmt::format_to_n(buf, sizeof buf, "RCODE{}", rcode);
  return {buf, r.size};
}

void format_blocked_line(const BlockedLogFields& f, Format format, LogLineBuffer& out,
                         std::string& scratch) {
  out.clear();
  char qtype_buf[16], rcode_buf[16];
  const std::string_view qtype = qtype_text(f.qtype, qtype_buf);
  const std::string_view rcode = rcode_text(f.rcode, rcode_buf);
  if (format == Format::kJson) {
    append(out, "{\"time\":\"");
    append_utc(out, f.unix_ms);
    out.push_back('"');
    json_field(out, "event", f.event, scratch, false);
    if (!f.client.empty()) json_field(out, "client", f.client, scratch, false);
    json_field(out, "name", f.name, scratch, false);
    json_field(out, "qtype", qtype, scratch, false);
    json_field(out, "policy", f.policy, scratch);
    json_field(out, "list", f.list, scratch);
    json_field(out, "category", f.category, scratch);
    json_field(out, "action", f.action, scratch);
    if (f.rcode < 0)
      append(out, ",\"rcode\":null");
    else
      json_field(out, "rcode", rcode, scratch, false);
    fmt::format_to(std::back_inserter(out), ",\"line\":{}", f.line);
    if (!f.authority.empty()) json_field(out, "authority", f.authority, scratch);
    if (!f.reference.empty()) json_field(out, "reference", f.reference, scratch);
    out.push_back('}');
    return;
  }
  append(out, f.event);
  text_field(out, "name", f.name, scratch, false);
  text_field(out, "qtype", qtype, scratch, false);
  text_field(out, "policy", f.policy, scratch);
  text_field(out, "list", f.list, scratch);
  text_field(out, "category", f.category, scratch);
  text_field(out, "action", f.action, scratch);
  text_field(out, "rcode", rcode, scratch, false);
  fmt::format_to(std::back_inserter(out), " line={}", f.line);
  if (!f.authority.empty()) text_field_quoted(out, "authority", f.authority, scratch);
  if (!f.reference.empty()) text_field_quoted(out, "reference", f.reference, scratch);
  if (!f.client.empty()) text_field(out, "client", f.client, scratch, false);
}

}  // namespace sinkhole::pipeline
