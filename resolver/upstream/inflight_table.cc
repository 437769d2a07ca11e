// SPDX-License-Identifier: MIT
#include "resolver/upstream/inflight_table.h"

#include <absl/hash/hash.h>
#include <sys/random.h>

#include <cstring>
#include <utility>

#include "resolver/upstream/zone_key.h"

namespace sinkhole::upstream {

void Waiter::set(const dns::ClientQuery& cq, const net::ClientEndpoint& ep, uint32_t ctx) {
  next = nullptr;
  context = ctx;
  endpoint = ep;
  query = cq;
  std::memcpy(question_bytes, cq.question, cq.question_len);
  query.question = question_bytes;
}

InflightTable::InflightTable() {
  // Unpredictable per table, so that nobody can pick zones that share a healthy zone's slot.
  if (getrandom(&zone_seed_, sizeof zone_seed_, 0) != sizeof zone_seed_)
    zone_seed_ = reinterpret_cast<uintptr_t>(this);
}

size_t InflightTable::zone_slot(const uint8_t* zone, size_t len) const {
  const std::string_view name(reinterpret_cast<const char*>(zone), len);
  return absl::Hash<std::pair<uint64_t, std::string_view>>{}({zone_seed_, name}) % kZoneSlots;
}

size_t InflightTable::zone_count(const uint8_t* name, size_t len) const {
  return zone_counts_[zone_slot(name, len)];
}

PendingQuery* InflightTable::acquire_query() {
  if (free_queries_.empty()) {
    query_store_.push_back(std::make_unique<PendingQuery>());
    return query_store_.back().get();
  }
  PendingQuery* q = free_queries_.back();
  free_queries_.pop_back();
  return q;
}

Waiter* InflightTable::acquire_waiter() {
  if (free_waiters_.empty()) {
    waiter_store_.push_back(std::make_unique<Waiter>());
    return waiter_store_.back().get();
  }
  Waiter* w = free_waiters_.back();
  free_waiters_.pop_back();
  return w;
}

PendingQuery* InflightTable::find_or_create(const dns::QuestionKey& question, bool& created) {
  const Found f = find_or_admit(question);
  created = f.admission == Admission::kCreated;
  return f.q;
}

InflightTable::Found InflightTable::find_or_admit(const dns::QuestionKey& question) {
  const size_t qname_len = question.qname_len;
  uint8_t key[dns::kMaxNameWire + 5];
  dns::lower_name(question.qname, qname_len, key);
  dns::write_u16(key + qname_len, question.qtype);
  dns::write_u16(key + qname_len + 2, question.qclass);
  key[qname_len + 4] = question.flag_bits();
  const size_t key_len = qname_len + 5;
  const std::string_view view(reinterpret_cast<const char*>(key), key_len);
  if (auto it = map_.find(view); it != map_.end()) return {it->second, Admission::kJoined};
  if (map_.size() >= limits_.max_questions) return {nullptr, Admission::kWorkerFull};
  const size_t zone_at = zone_offset(key, qname_len);
  const size_t slot = zone_slot(key + zone_at, qname_len - zone_at);
  if (zone_counts_[slot] >= limits_.zone_limit) return {nullptr, Admission::kZoneFull};
  ++zone_counts_[slot];
  PendingQuery* q = acquire_query();
  *q = PendingQuery{};
  std::memcpy(q->key, key, key_len);
  q->key_len = key_len;
  q->qname_len = qname_len;
  q->qtype = question.qtype;
  q->qclass = question.qclass;
  q->do_bit = question.do_bit;
  q->cd_bit = question.cd_bit;
  q->zone_slot = static_cast<uint16_t>(slot);
  q->zone_offset = static_cast<uint8_t>(zone_at);
  map_.emplace(q->key_view(), q);
  return {q, Admission::kCreated};
}

Waiter& InflightTable::add_waiter(PendingQuery& q, const dns::ClientQuery& cq,
                                  const net::ClientEndpoint& ep, uint32_t context) {
  Waiter* w = acquire_waiter();
  w->set(cq, ep, context);
  if (q.last_waiter)
    q.last_waiter->next = w;
  else
    q.waiters = w;
  q.last_waiter = w;
  ++q.waiter_count;
  return *w;
}

void InflightTable::finish(PendingQuery* q) {
  map_.erase(q->key_view());
  --zone_counts_[q->zone_slot];
  for (Waiter* w = q->waiters; w;) {
    Waiter* next = w->next;
    free_waiters_.push_back(w);
    w = next;
  }
  q->waiters = q->last_waiter = nullptr;
  q->waiter_count = 0;
  free_queries_.push_back(q);
}

}  // namespace sinkhole::upstream
