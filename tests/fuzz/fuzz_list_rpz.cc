// SPDX-License-Identifier: MIT
// Fuzz target: a rpz list file (blocklist/formats/rpz.h), as a reload reads it.
#include "tests/fuzz/list_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sinkhole::fuzz::fuzz_list(data, size, sinkhole::blocklist::Format::kRpz);
}
