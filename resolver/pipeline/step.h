// SPDX-License-Identifier: MIT
// Step: the typed outcome of one pipeline stage. A stage that answers writes its reply into
// the pipeline's transmit buffer and says how long it is and with which rcode (so that
// QueryPipeline::reply counts and sends it in one place); otherwise the query continues to
// the next stage, is dropped without an answer, or waits on an upstream. Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sinkhole::pipeline {

struct Step {
  enum class Kind : uint8_t {
    kContinue,  // not this stage's query: go on
    kReply,     // answered: `size` bytes in the transmit buffer, with `rcode`
    kDrop,      // no answer at all (unreadable header, `drop` action)
    kDeferred,  // waiting on an upstream: answered when its reply (or failure) comes
  };
  Kind kind = Kind::kContinue;
  uint16_t rcode = 0;
  size_t size = 0;

  static Step next() { return {}; }
  static Step reply(uint16_t rcode, size_t size) { return {Kind::kReply, rcode, size}; }
  static Step drop() { return {Kind::kDrop, 0, 0}; }
  static Step deferred() { return {Kind::kDeferred, 0, 0}; }
};

}  // namespace sinkhole::pipeline
