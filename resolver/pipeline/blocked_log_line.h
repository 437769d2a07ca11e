// SPDX-License-Identifier: MIT
// The one line a blocked (or monitored) query leaves in the log, in one of two spellings
// of the same fields (log.blocked_queries_format):
//
//   text  blocked name=www.casino.example. qtype=A policy=subscribers list=casinos
//         category=gambling action=warning rcode=NOERROR line=12
//         authority="Ministry X" reference="Decision 12/QD" client=203.0.113.0/24
//         (one line; the logger puts the time in front)
//   json  {"time":"2026-05-01T10:00:00.123Z","event":"blocked","client":"203.0.113.0/24",
//          "name":"www.casino.example.","qtype":"A","policy":"subscribers","list":"casinos",
//          "category":"gambling","action":"warning","rcode":"NOERROR","line":12,
//          "authority":"Ministry X","reference":"Decision 12/QD"}
//         (JSON Lines: one object per line, the time in UTC inside it)
//
// event is `blocked` or `monitored` (a passthru action); rcode is the rcode of the answer
// built at once, `-` / null when there is none (dropped, a `cname` redirect answered once
// its target resolves, a monitored query answered by the upstream); line is the rule's line
// in the list file; authority and reference (the list's legal basis, policy/legal_basis.h)
// only when the list has them — in the text form in double quotes (`"` and `\` escaped with
// a backslash) when they hold a space, `"`, `\` or `=`, as logfmt quotes; client only when
// log.client_address asks for it. Every string from a
// query or the configuration is escaped for logs first (util/log_escape.h: control bytes,
// newlines, invalid UTF-8 → \xNN), then for JSON.
//
// Written by hand into a caller's fixed buffer instead of through nlohmann-json: this runs
// on a worker for every blocked query, and a reused buffer allocates nothing once warm
// (perf/alloc_count measures it). Worker thread only (the buffers are the caller's).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "resolver/config/config.h"

namespace sinkhole::pipeline {

struct BlockedLogFields {
  std::string_view event;  // "blocked" or "monitored"
  std::string_view name;   // escaped for logs already (dns::append_wire_log_text)
  uint16_t qtype = 0;
  std::string_view policy, list, category, action;
  int rcode = -1;                         // -1: no answer built at once
  uint32_t line = 0;                      // of the rule in the list file
  std::string_view authority, reference;  // the list's legal basis; "" when it has none
  std::string_view client;                // "" when not logged
  int64_t unix_ms = 0;                    // the time, for the JSON form
};

using LogLineBuffer = fmt::basic_memory_buffer<char, 512>;

// Writes the line (no line end) into `out`, which it clears first; `scratch` is a reused
// work string.
void format_blocked_line(const BlockedLogFields& f, config::LogConfig::BlockedFormat format,
                         LogLineBuffer& out, std::string& scratch);

// "A", "AAAA", ... or "TYPE65280" (RFC 3597); "NOERROR", "NXDOMAIN", ... or "RCODE12".
// `buf` holds the generated form; the result points into it or at a constant.
std::string_view qtype_text(uint16_t qtype, char (&buf)[16]);
std::string_view rcode_text(int rcode, char (&buf)[16]);

}  // namespace sinkhole::pipeline
