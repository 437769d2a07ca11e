// SPDX-License-Identifier: MIT
// UpstreamPool: one worker's forwarding engine. For each distinct question (a PendingQuery
// from the InflightTable) it sends attempts to the configured upstreams through a Transport
// (transport.h; the real one gives each UDP attempt a fresh socket, so a kernel-chosen
// random source port) with a random ID, and accepts a reply only when its ID and question
// match. TC=1 replies are retried over TCP; a timeout or a socket error moves to the next
// upstream; at the deadline the delegate is told that every upstream failed. Time comes
// from a Clock (clock.h), so tests drive all of this in-process. Worker thread only.
//
// Upstream choice: the last upstream that answered is tried first ("sticky"), so a dead
// first upstream costs one timeout, not one per query. An upstream with
// `max_inflight_per_upstream` attempts in flight is passed over; when every usable one is
// that busy the question fails at once (PendingQuery::Failure::kUpstreamLimit), so a
// black-holed upstream holds at most that many of the worker's questions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "resolver/config/socket_address.h"
#include "resolver/dns/message_view.h"
#include "resolver/metrics/upstream_stats.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/upstream/clock.h"
#include "resolver/upstream/debug_log.h"
#include "resolver/upstream/inflight_table.h"
#include "resolver/upstream/limit_log.h"
#include "resolver/upstream/random_source.h"
#include "resolver/upstream/transport.h"

namespace sinkhole::upstream {

class UpstreamDelegate {
 public:
  virtual ~UpstreamDelegate() = default;
  // A validated reply for `q`. The delegate answers q's waiters and finishes q.
  virtual void on_upstream_answer(PendingQuery& q, const uint8_t* resp,
                                  const dns::MessageView& m) = 0;
  // Every upstream failed or the deadline passed. The delegate answers and finishes q.
  virtual void on_upstream_failure(PendingQuery& q) = 0;
};

// How a reply relates to the query we sent.
enum class ReplyCheck : uint8_t { kAccept, kSpoofed, kMalformed };

// Checks ID, QR, opcode and question (case-insensitively) of `resp` against `q`.
ReplyCheck check_reply(const PendingQuery& q, const uint8_t* resp, size_t len,
                       dns::MessageView& m) noexcept;

// Writes the upstream query for `q` (RD, CD as asked, our OPT with the client's DO bit).
size_t build_upstream_query(const PendingQuery& q, uint16_t id, uint16_t payload, uint8_t* out);

class UpstreamPool final : private TransportEvents {
 public:
  struct Options {
    std::vector<config::SocketAddress> servers;
    std::chrono::milliseconds timeout{1500};
    std::chrono::milliseconds deadline{2000};
    uint16_t payload = 1232;
    unsigned max_inflight_per_upstream = std::numeric_limits<unsigned>::max();
    // Where the per-upstream counters go: `stats` row `stat_slots[i]` for servers[i]
    // (rows keep their address across reloads, see UpstreamSlots). Null: the pool's own
    // rows, one per server.
    metrics::UpstreamStats* stats = nullptr;
    std::vector<unsigned> stat_slots;
  };
  // `transport` and `clock` must outlive the pool; the pool receives the transport's events.
  UpstreamPool(Options opts, Transport& transport, const Clock& clock,
               metrics::WorkerCounters& counters, UpstreamDelegate& delegate);
  ~UpstreamPool() override;
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Starts resolving a newly created PendingQuery; its deadline is the configured one or
  // `deadline_cap_ms` (loop time), whichever comes first (a CNAME target asked for a client
  // that is already waiting gets what is left of that client's time).
  void start(PendingQuery& q, uint64_t deadline_cap_ms = UINT64_MAX);
  // Gives up on `q` now: the delegate is told every upstream failed (forced shutdown).
  void cancel(PendingQuery& q) { fail(q); }
  // Releases the transport's sockets and timers; call once nothing is in flight.
  void close() { transport_.close(); }
  // Per-upstream attempts, timeouts, failures and reply latency (read by the metrics thread).
  // Where the per-query debug lines (choice, failover) are gated; none when null.
  void set_debug_log(DebugLog* log) { debug_ = log; }
  const metrics::UpstreamStats& stats() const { return *stats_; }
  // Questions started here and not yet answered or failed: a pool a reload replaced is
  // closed once this is 0.
  size_t active() const { return active_; }
  // Attempts in flight at upstream `i` (tests).
  unsigned busy(unsigned i) const { return busy_[i]; }

 private:
  void attempt(PendingQuery& q);
  void attempt_tcp(PendingQuery& q);
  // TransportEvents. A reply arrived on the current attempt; `over_tcp` forbids another
  // TCP retry.
  void on_transport_reply(PendingQuery& q, const uint8_t* data, size_t len, bool over_tcp) override;
  void on_transport_timeout(PendingQuery& q) override;
  void on_transport_error(PendingQuery& q) override;
  // The current attempt failed; `hard` (socket error) means do not retry this upstream.
  void on_attempt_failed(PendingQuery& q, bool hard);
  void detach(PendingQuery& q);
  void fail(PendingQuery& q);
  enum class Pick : uint8_t { kPicked, kNone, kBusy };
  Pick pick_upstream(PendingQuery& q);
  void count_sent(PendingQuery& q);
  uint64_t attempt_timeout(const PendingQuery& q) const;
  // The attempt at q.upstream failed with `e`: counted for the health view, and a debug line.
  void note_failure(const PendingQuery& q, metrics::UpstreamStats::Error e);
  void debug_attempt(const PendingQuery& q, bool tcp);
  unsigned slot(unsigned upstream) const { return slots_[upstream]; }

  Options opts_;
  Transport& transport_;
  const Clock& clock_;
  metrics::WorkerCounters& counters_;
  std::unique_ptr<metrics::UpstreamStats> own_stats_;  // when Options::stats is null
  metrics::UpstreamStats* stats_;
  std::vector<unsigned> slots_;  // stats row of each server
  size_t active_ = 0;
  UpstreamDelegate& delegate_;
  RandomSource random_;
  unsigned preferred_ = 0;
  std::vector<unsigned> busy_;  // attempts in flight per upstream
  LimitLog limit_log_;
  DebugLog* debug_ = nullptr;
  uint8_t tx_[dns::kMaxNameWire + 64];
};

}  // namespace sinkhole::upstream
