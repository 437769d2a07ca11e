// SPDX-License-Identifier: MIT
// Fuzz target: the body of GET /protected-users/sketches as sinkholectl fleet-report reads
// it from a node (or from whatever answers at that URL). parse_sketch_document must refuse
// or accept without a crash, a leak or an exception; an accepted document holds only valid
// registers, survives to_json_text → parse again unchanged, and merges with itself into
// the same registers (merging a node with itself counts nobody twice).
#include "resolver/metrics/sketch_document.h"
#include "resolver/metrics/sketch_merge.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sinkhole::metrics;
  const auto parsed = parse_sketch_document(sinkhole::fuzz::as_text(data, size));
  if (!parsed.document) {
    FUZZ_CHECK(!parsed.error.empty());
    return 0;
  }
  const SketchDocument& doc = *parsed.document;
  FUZZ_CHECK(doc.categories.size() <= kMaxSketchCategories);
  for (const auto& c : doc.categories)
    for (const WindowSketch* w : {&c.last_hour, &c.last_day})
      for (uint8_t r : w->registers) FUZZ_CHECK(r <= kMaxRegisterValue);
  const auto again = parse_sketch_document(to_json_text(doc));
  FUZZ_CHECK(again.document);
  FUZZ_CHECK(again.document->categories.size() == doc.categories.size());
  for (size_t i = 0; i < doc.categories.size(); ++i) {
    FUZZ_CHECK(again.document->categories[i].category == doc.categories[i].category);
    FUZZ_CHECK(again.document->categories[i].last_hour.registers ==
               doc.categories[i].last_hour.registers);
    FUZZ_CHECK(again.document->categories[i].last_day.registers ==
               doc.categories[i].last_day.registers);
  }
  const auto merged = merge_sketches({{"a", doc}, {"b", *again.document}});
  FUZZ_CHECK(merged.report);
  FUZZ_CHECK(merged.report->rows.size() == 2 * doc.categories.size());
  for (const auto& row : merged.report->rows) FUZZ_CHECK(row.nodes_merged == 2);
  return 0;
}
