// SPDX-License-Identifier: MIT
#include "resolver/pipeline/chase.h"

#include <cstring>

#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"
#include "resolver/dns/record_copy.h"

namespace sinkhole::pipeline {

namespace {
// copy_records_expanded wants room for three full names and a header past what it copies,
// so with this much more than kMaxChainBytes it fails exactly when the bound is passed.
constexpr size_t kBufferBytes = kMaxChainBytes + 3 * dns::kMaxNameWire + 10;
}  // namespace

void Chase::reset(Kind k, uint64_t deadline) {
  kind = k;
  queries = 0;
  deadline_ms = deadline;
  ede_code = dns::kNoEde;
  ede_len = 0;
  records_len = 0;
  record_count = 0;
  if (!records) records.reset(new uint8_t[kBufferBytes]);
}

bool Chase::append_answers(const uint8_t* resp, const dns::MessageView& m) {
  const dns::CopiedRecords c =
      dns::copy_records_expanded(resp, m.end, m.question_end, m.ancount,
                                 records.get() + records_len, kBufferBytes - records_len);
  if (!c.ok || records_len + c.bytes > kMaxChainBytes) return false;
  records_len += c.bytes;
  record_count += c.count;
  return true;
}

bool Chase::append_record(const uint8_t* rec, size_t len) {
  if (records_len + len > kMaxChainBytes) return false;
  std::memcpy(records.get() + records_len, rec, len);
  records_len += len;
  ++record_count;
  return true;
}

bool Chase::passes(const uint8_t* name, size_t len) const {
  size_t pos = 0;
  for (size_t i = 0; i < record_count; ++i) {
    const dns::RecordSpan r = dns::skip_record(records.get(), records_len, pos);
    if (r.end == 0) return false;
    if (r.type == dns::rrtype::kCname || r.type == dns::rrtype::kDname) {
      const dns::NameWalk w = dns::walk_name(records.get(), records_len, r.name_off,
                                             /*allow_pointers=*/false);
      if (w.error == dns::NameError::kNone && w.wire_len == len &&
          dns::wire_names_equal_ci(records.get() + r.name_off, name, len))
        return true;
    }
    pos = r.end;
  }
  return false;
}

uint32_t ChaseTable::acquire(Chase::Kind kind, uint64_t deadline_ms) {
  uint32_t handle;
  if (free_.empty()) {
    slots_.push_back(std::make_unique<Chase>());
    handle = static_cast<uint32_t>(slots_.size());
  } else {
    handle = free_.back();
    free_.pop_back();
  }
  at(handle).reset(kind, deadline_ms);
  return handle;
}

}  // namespace sinkhole::pipeline
