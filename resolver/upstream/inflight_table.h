// SPDX-License-Identifier: MIT
// InflightTable: one worker's queries waiting on an upstream, keyed by dns::QuestionKey
// (name lower-cased), so identical questions share one upstream query (coalescing).
// Each PendingQuery carries the list of clients (Waiters) to answer. Entries and waiters
// come from free lists that grow on demand and are then reused: steady state allocates
// nothing. Worker thread only.
//
// Limits: a new question (not one joining an identical question in flight) is admitted
// only while the worker has fewer than `max_questions` in flight and its zone
// (zone_key.h) fewer than `zone_limit`. Zones are counted in a fixed table of kZoneSlots
// counters indexed by a hash of the zone's name with a per-table random seed: no
// allocation per query, and an attacker cannot choose zones that share a healthy zone's
// counter (two zones that share a slot by chance share one budget).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>
#include <vector>

#include "resolver/dns/answer_builder.h"
#include "resolver/dns/query_view.h"
#include "resolver/dns/question_key.h"
#include "resolver/dns/wire.h"
#include "resolver/net/client_endpoint.h"

namespace sinkhole::upstream {

// One client waiting for an answer, with a copy of what its reply must echo.
struct Waiter {
  Waiter* next = nullptr;
  net::ClientEndpoint endpoint;
  dns::ClientQuery query;  // query.question points into question_bytes
  uint8_t question_bytes[dns::kMaxNameWire + 4];
  // Owned by the delegate that answers the waiters (the pipeline): 0 for a plain forward;
  // otherwise its own handle for what else this client's answer needs (e.g. the `cname`
  // block action's redirect). The table only carries it.
  uint32_t context = 0;

  void set(const dns::ClientQuery& cq, const net::ClientEndpoint& ep, uint32_t ctx);
};

class UdpExchange;
class TcpExchange;

// One distinct question in flight upstream.
class UpstreamPool;

struct PendingQuery {
  // Key bytes: lower-cased wire name, qtype, qclass, one byte of DO/CD.
  uint8_t key[dns::kMaxNameWire + 5];
  size_t key_len = 0;
  size_t qname_len = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool do_bit = false;
  bool cd_bit = false;

  Waiter* waiters = nullptr;
  Waiter* last_waiter = nullptr;
  size_t waiter_count = 0;

  // Upstream state, owned by UpstreamPool.
  UpstreamPool* pool = nullptr;  // the pool resolving it (a reload may have retired it since)
  uint16_t id = 0;
  uint64_t deadline_ms = 0;  // loop time after which clients get SERVFAIL
  uint32_t tried = 0;        // bit per upstream tried for this question
  uint32_t failed = 0;       // bit per upstream that failed hard (not worth a retry)
  unsigned upstream = 0;     // index of the current attempt's upstream
  uint64_t attempt_ns = 0;   // uv_hrtime() when the current attempt was sent (latency)
  UdpExchange* udp = nullptr;
  TcpExchange* tcp = nullptr;
  bool attempt_open = false;  // an attempt counts against its upstream's in-flight limit
  // Why the pool gave up (set before UpstreamDelegate::on_upstream_failure).
  enum class Failure : uint8_t { kUnreachable, kUpstreamLimit };
  Failure failure = Failure::kUnreachable;

  // Owned by InflightTable: the zone's counter and where the zone starts in the name.
  uint16_t zone_slot = 0;
  uint8_t zone_offset = 0;

  std::string_view key_view() const { return {reinterpret_cast<const char*>(key), key_len}; }
  const uint8_t* qname() const { return key; }
  // The zone the limits count this question under (lower-cased wire name).
  const uint8_t* zone() const { return key + zone_offset; }
  size_t zone_len() const { return qname_len - zone_offset; }
  // The question this entry resolves (its name lower-cased).
  dns::QuestionKey question() const { return {key, qname_len, qtype, qclass, do_bit, cd_bit}; }
};

// What find_or_admit did with a question.
enum class Admission : uint8_t {
  kJoined,      // an identical question was in flight: the client waits on it
  kCreated,     // a new entry: start it upstream
  kWorkerFull,  // refused: max_questions in flight
  kZoneFull,    // refused: the zone's share is used up
};

struct InflightLimits {
  size_t max_questions = SIZE_MAX;
  size_t zone_limit = SIZE_MAX;
};

class InflightTable {
 public:
  static constexpr size_t kZoneSlots = 4096;

  InflightTable();
  void set_limits(const InflightLimits& limits) { limits_ = limits; }

  struct Found {
    PendingQuery* q = nullptr;  // null when refused
    Admission admission = Admission::kJoined;
  };
  // Finds the entry for this question, or creates one when the limits allow it.
  Found find_or_admit(const dns::QuestionKey& question);
  // The same without the answer's reason; `created` tells which (null when refused).
  PendingQuery* find_or_create(const dns::QuestionKey& question, bool& created);
  Waiter& add_waiter(PendingQuery& q, const dns::ClientQuery& cq, const net::ClientEndpoint& ep,
                     uint32_t context = 0);
  // Removes the entry and recycles it and its waiters; call after answering them.
  void finish(PendingQuery* q);
  size_t size() const { return map_.size(); }
  // Questions in flight counted against `zone`'s slot (lower-cased wire name).
  size_t zone_count(const uint8_t* name, size_t len) const;
  template <typename F>
  void for_each(F&& f) {
    std::vector<PendingQuery*> all;
    all.reserve(map_.size());
    for (auto& kv : map_) all.push_back(kv.second);
    for (auto* q : all) f(q);
  }

 private:
  PendingQuery* acquire_query();
  Waiter* acquire_waiter();
  size_t zone_slot(const uint8_t* zone, size_t len) const;

  absl::flat_hash_map<std::string_view, PendingQuery*> map_;
  std::vector<std::unique_ptr<PendingQuery>> query_store_;
  std::vector<PendingQuery*> free_queries_;
  std::vector<std::unique_ptr<Waiter>> waiter_store_;
  std::vector<Waiter*> free_waiters_;
  InflightLimits limits_;
  uint64_t zone_seed_ = 0;
  std::array<uint32_t, kZoneSlots> zone_counts_{};
};

}  // namespace sinkhole::upstream
