// SPDX-License-Identifier: MIT
// Chase: the state of one client's answer that is assembled from several upstream
// questions — a CNAME/DNAME chain that the upstream left unfinished (an authoritative
// upstream does not follow a CNAME out of its zone), the `cname` block action's redirect,
// or an RPZ `CNAME other.name.` rule. It holds the records collected so far (written out
// in full, so they can be copied into the final answer and searched for loops), how many
// questions were asked, the client's deadline and the block's EDE.
//
// ChaseTable hands out slots by a handle (upstream::Waiter::context, 1-based; 0 means a
// plain forward). Slots live behind stable pointers and are reused through a free list:
// each holds one kMaxChainBytes buffer, allocated once, so steady state allocates nothing.
// Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "resolver/dns/answer_builder.h"
#include "resolver/dns/message_view.h"
#include "resolver/pipeline/blocked_answer.h"

namespace sinkhole::pipeline {

// Questions asked to finish one answer at most, as Unbound's MAX_RESTART_COUNT (8): a
// longer chain is answered SERVFAIL.
inline constexpr unsigned kMaxChaseQueries = 8;
// The chain's records kept at most (CNAMEs and their RRSIGs over eight links fit easily).
inline constexpr size_t kMaxChainBytes = 8192;

struct Chase {
  enum class Kind : uint8_t {
    kFollow,     // an upstream chain: links checked by policy; the result is cached
    kRedirect,   // the `cname` action: the operator's target, never re-checked or cached
    kLocalData,  // an RPZ `CNAME other.name.` rule: links checked, never cached
  };
  Kind kind = Kind::kFollow;
  unsigned queries = 0;      // questions asked for this answer so far
  uint64_t deadline_ms = 0;  // the client's: no question is asked for it after this
  uint16_t ede_code = dns::kNoEde;
  uint8_t ede_len = 0;
  char ede_text[kMaxRedirectEdeText];
  size_t records_len = 0;  // bytes of `records` in use
  size_t record_count = 0;
  std::unique_ptr<uint8_t[]> records;  // kMaxChainBytes + room for copying one record

  void reset(Kind k, uint64_t deadline);
  // Appends the answer records of `resp` (names written out in full); false when they do
  // not fit kMaxChainBytes or are malformed.
  bool append_answers(const uint8_t* resp, const dns::MessageView& m);
  // Appends `len` bytes holding one record written out in full.
  bool append_record(const uint8_t* rec, size_t len);
  // True when a CNAME or DNAME collected so far is owned by `name` (lower-cased wire): a
  // chain reaching it again is a loop.
  bool passes(const uint8_t* name, size_t len) const;
  dns::Ede ede() const { return {ede_code, {ede_text, ede_len}}; }
};

class ChaseTable {
 public:
  // A cleared slot's handle (>= 1).
  uint32_t acquire(Chase::Kind kind, uint64_t deadline_ms);
  void release(uint32_t handle) { free_.push_back(handle); }
  Chase& at(uint32_t handle) { return *slots_[handle - 1]; }
  size_t in_use() const { return slots_.size() - free_.size(); }

 private:
  std::vector<std::unique_ptr<Chase>> slots_;
  std::vector<uint32_t> free_;
};

}  // namespace sinkhole::pipeline
