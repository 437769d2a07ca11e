// SPDX-License-Identifier: MIT
// The body shared by the five list-reader targets (fuzz_list_<format>.cc): the input is a
// list file's text. It is read twice, as a reload reads it (streamed into a MatcherBuilder,
// then compiled) and whole (parse_list without a sink); both must agree on what they
// rejected (and on the RPZ IP triggers kept), and every name the reader kept must be found
// by the matcher it built. The format inference (a list without format:) sniffs the same
// text.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "blocklist/format_inference.h"
#include "blocklist/list_reader.h"
#include "blocklist/matcher.h"
#include "tests/fuzz/fuzz_support.h"

namespace sinkhole::fuzz {

class FeedBuilder final : public blocklist::DomainSink {
 public:
  FeedBuilder(blocklist::MatcherBuilder& mb, uint16_t list) : mb_(mb), list_(list) {}
  void expect(size_t lines, size_t bytes) override { mb_.reserve(lines, bytes); }
  void on_domains(std::span<blocklist::DomainEntry> entries, uint32_t first) override {
    mb_.add_domains(list_, entries, first);
  }
  bool indexes_all() const override { return mb_.indexed_all(); }
  bool find_earlier(std::string_view name, Earlier& exact, Earlier& below) const override {
    return mb_.find_earlier(list_, name, exact, below);
  }

 private:
  blocklist::MatcherBuilder& mb_;
  uint16_t list_;
};

inline int fuzz_list(const uint8_t* data, size_t size, blocklist::Format format) {
  using namespace blocklist;
  const std::string_view text = as_text(data, size);

  // As policy/snapshot_builder.cc reads a list at a reload.
  MatcherBuilder mb;
  const uint16_t id = mb.begin_list("fuzz.list", format);
  FeedBuilder feed(mb, id);
  ParsedList streamed = parse_list(text, format, "fuzz.list", &feed);
  mb.add_patterns(id, streamed.patterns);
  const auto built = mb.build();
  FUZZ_CHECK(built.matcher != nullptr);

  // A list without format: (the daemon and --check-list alike): the inference sniffs the
  // same text; whatever it chooses is a format, said with a reason and in one line.
  const FormatChoice chosen = infer_format(text, "fuzz.list");
  FUZZ_CHECK(chosen.basis != FormatBasis::kConfigured);
  FUZZ_CHECK(chosen.basis == FormatBasis::kDefault || !chosen.why.empty());
  FUZZ_CHECK(describe(chosen).find('\n') == std::string::npos);

  // As --check-list reads it.
  const ParsedList whole = parse_list(text, format, "fuzz.list");
  FUZZ_CHECK(whole.stats.rejects.size() == streamed.stats.rejects.size());
  FUZZ_CHECK(whole.patterns.size() == streamed.patterns.size());
  FUZZ_CHECK(whole.stats.lines == streamed.stats.lines);
  for (const auto& r : whole.stats.rejects) FUZZ_CHECK(r.line <= whole.stats.lines);
  // RPZ IP triggers (rpz_ip.h): the same in both readings, each a valid prefix.
  FUZZ_CHECK(whole.ip_triggers.size() == streamed.ip_triggers.size());
  for (const auto& t : whole.ip_triggers) {
    FUZZ_CHECK(t.family == 4 || t.family == 6);
    FUZZ_CHECK(t.prefix >= 1 && t.prefix <= (t.family == 4 ? 32 : 128));
    FUZZ_CHECK(t.line >= 1 && t.line <= whole.stats.lines);
  }

  PatternScratch scratch;
  PatternScratch* s = nullptr;
  if (!built.matcher->patterns().empty()) {
    FUZZ_CHECK(scratch.prepare(built.matcher->patterns()));
    s = &scratch;
  }
  size_t checked = 0;
  for (const auto& e : whole.domains) {
    if (++checked > 64) break;
    FUZZ_CHECK(!e.name.empty() || e.scope != Scope::kExact);
    const std::string probe = e.scope == Scope::kSubdomains ? "x." + e.name : e.name;
    if (probe.empty()) continue;
    FUZZ_CHECK(built.matcher->lookup_text(probe, s).has_value());
  }
  return 0;
}

}  // namespace sinkhole::fuzz
