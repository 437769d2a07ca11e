// SPDX-License-Identifier: MIT
// Fuzz target: a rpz list file (blocklist/formats/rpz.h), as a reload reads it; and the
// reader's fast path (rpz_fast.h) against ldns alone: both readings of the zone must keep
// the same entries, local data, rejects and counts.
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sinkhole;
  fuzz::fuzz_list(data, size, blocklist::Format::kRpz);
  const std::string_view text = fuzz::as_text(data, size);
  blocklist::ParsedList fast, slow;
  blocklist::read_rpz(text, fast, true);
  blocklist::read_rpz(text, slow, false);
  FUZZ_CHECK(same(fast, slow));
  return 0;
}
