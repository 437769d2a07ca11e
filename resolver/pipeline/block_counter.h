// SPDX-License-Identifier: MIT
// BlockCounter: what a blocked (or monitored) query leaves behind besides its answer — the
// blocked counters (total, by list/category/action), the protected-users sketch of the
// list's category (the client's address bytes, never stored), the opt-in blocked-query log
// (an async logger with a bounded queue: a burst of blocks never waits on journald), and
// the per-action `log: true` line. Worker thread only.
#pragma once

#include <spdlog/logger.h>

#include <cstdint>

#include "policy/snapshot.h"
#include "resolver/config/config.h"
#include "resolver/dns/answer_builder.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/net/client_endpoint.h"
#include "resolver/upstream/clock.h"

namespace sinkhole::pipeline {

class BlockCounter {
 public:
  BlockCounter(const config::LogConfig& log, metrics::WorkerCounters& counters,
               const upstream::Clock& clock)
      : log_cfg_(&log), counters_(counters), clock_(clock) {}
  // A reload's log settings; `log` must stay alive until the next call.
  void set_log_config(const config::LogConfig& log) { log_cfg_ = &log; }
  // Which worker this is: its slot in the shared blocked-by-list cells (metrics::BlockStats).
  void set_worker_index(unsigned index) { worker_index_ = index; }
  // Where blocked queries are logged, one line each (null: not logged).
  void set_blocked_log(spdlog::logger* log) { blocked_log_ = log; }

  // One blocked query for the question in `cq` from `from`.
  void count(const policy::PolicySnapshot& snap, const policy::Verdict& v,
             const dns::ClientQuery& cq, uint16_t qtype, const net::ClientEndpoint& from);
  // The `log: true` line of an action (e.g. trialling a list in monitor mode), without the
  // client's address.
  static void log_verdict(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                          const uint8_t* qname, size_t qname_len, uint16_t qtype);

 private:
  const config::LogConfig* log_cfg_;
  metrics::WorkerCounters& counters_;
  const upstream::Clock& clock_;
  unsigned worker_index_ = 0;
  spdlog::logger* blocked_log_ = nullptr;
};

}  // namespace sinkhole::pipeline
