// SPDX-License-Identifier: MIT
// Fuzz target: a rpz list file (blocklist/formats/rpz.h), as a reload reads it; and the
// reader's fast path (rpz_fast.h) against ldns alone: both readings of the zone must keep
// the same entries, local data, rejects and counts; and the streamed reading with tiny
// chunks (repeats found in the builder's table) against the normal one.
#include "blocklist/formats/rpz.h"
#include "tests/fuzz/list_target.h"

namespace {

bool same(const sinkhole::blocklist::ParsedList& a, const sinkhole::blocklist::ParsedList& b) {
  if (a.domains.size() != b.domains.size() || a.stats.rejects.size() != b.stats.rejects.size() ||
      a.stats.skipped != b.stats.skipped || a.stats.duplicates != b.stats.duplicates ||
      a.stats.lines != b.stats.lines)
    return false;
  for (size_t i = 0; i < a.domains.size(); ++i) {
    const auto &x = a.domains[i], &y = b.domains[i];
    if (x.name != y.name || x.scope != y.scope || x.kind != y.kind || x.action != y.action ||
        x.line != y.line || x.local.size() != y.local.size())
      return false;
    for (size_t k = 0; k < x.local.size(); ++k)
      if (x.local[k].type != y.local[k].type || x.local[k].ttl != y.local[k].ttl ||
          x.local[k].rdata != y.local[k].rdata)
        return false;
  }
  for (size_t i = 0; i < a.stats.rejects.size(); ++i)
    if (a.stats.rejects[i].line != b.stats.rejects[i].line ||
        a.stats.rejects[i].reason != b.stats.rejects[i].reason)
      return false;
  return true;
}

// A reload's reading (streamed into a MatcherBuilder); with `small`, the reader hands entries
// over every 3 and empties its own index each time, so repeats are looked up in the
// builder's table (DomainSink::find_earlier) as in a 1M-name zone.
struct Streamed {
  sinkhole::blocklist::ParsedList parsed;
  sinkhole::blocklist::MatcherBuilder::DomainCounts counts;
};

Streamed stream(std::string_view text, bool small) {
  using namespace sinkhole::blocklist;
  rpz_small_chunks_for_testing(small);
  MatcherBuilder mb;
  const uint16_t id = mb.begin_list("fuzz.list", Format::kRpz);
  sinkhole::fuzz::FeedBuilder feed(mb, id);
  Streamed s;
  s.parsed = parse_list(text, Format::kRpz, "fuzz.list", &feed);
  rpz_small_chunks_for_testing(false);
  s.counts = mb.domain_counts(id);
  return s;
}

bool same_streamed(const Streamed& a, const Streamed& b) {
  if (a.counts.names != b.counts.names || a.counts.rules != b.counts.rules ||
      a.counts.duplicates != b.counts.duplicates ||
      a.parsed.stats.duplicates != b.parsed.stats.duplicates ||
      a.parsed.stats.skipped != b.parsed.stats.skipped ||
      a.parsed.ip_triggers.size() != b.parsed.ip_triggers.size() ||
      a.parsed.stats.rejects.size() != b.parsed.stats.rejects.size())
    return false;
  for (size_t i = 0; i < a.parsed.stats.rejects.size(); ++i)
    if (a.parsed.stats.rejects[i].line != b.parsed.stats.rejects[i].line ||
        a.parsed.stats.rejects[i].reason != b.parsed.stats.rejects[i].reason)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sinkhole;
  fuzz::fuzz_list(data, size, blocklist::Format::kRpz);
  const std::string_view text = fuzz::as_text(data, size);
  FUZZ_CHECK(same_streamed(stream(text, false), stream(text, true)));
  blocklist::ParsedList fast, slow;
  blocklist::read_rpz(text, fast, true);
  blocklist::read_rpz(text, slow, false);
  FUZZ_CHECK(same(fast, slow));
  return 0;
}
