// SPDX-License-Identifier: MIT
#include "blocklist/formats/reader_output.h"

#include "blocklist/normalize.h"
#include "util/log_escape.h"

namespace sinkhole::blocklist {
namespace {

constexpr size_t kMaxQuoted = 80;

}  // namespace

std::string quote_for_message(std::string_view text) {
  std::string out = "'";
  util::append_escaped_for_log(out, text, kMaxQuoted);
  out += "'";
  return out;
}

DomainEntry* add_domain(ParsedList& out, std::string_view raw, uint32_t line, Scope scope,
                        RuleKind kind, ListAction action) {
  // Every entry before this call is complete (readers edit only the entry just returned),
  // so a full chunk can go to the sink now.
  if (out.sink != nullptr && out.domains.size() >= kStreamChunk) flush_domains(out);
  DomainEntry& e = out.domains.emplace_back();
  std::string reason;
  if (!normalize_name_into(raw, e.name, reason)) {
    out.domains.pop_back();
    add_reject(out, line, reason, raw);
    return nullptr;
  }
  e.scope = scope;
  e.kind = kind;
  e.action = action;
  e.line = line;
  return &e;
}

void flush_domains(ParsedList& out) {
  if (out.sink == nullptr || out.domains.empty()) return;
  out.sink->on_domains(out.domains, out.streamed);
  out.streamed += static_cast<uint32_t>(out.domains.size());
  out.domains.clear();
}

void add_reject(ParsedList& out, uint32_t line, std::string_view reason, std::string_view text) {
  std::string message(reason);
  message += ": ";
  message += quote_for_message(text);
  out.stats.rejects.push_back(Reject{line, std::move(message)});
}

void count_skip(ParsedList& out, std::string_view reason) {
  ++out.stats.skipped[std::string(reason)];
}

}  // namespace sinkhole::blocklist
