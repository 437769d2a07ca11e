// SPDX-License-Identifier: MIT
// BlockCounter: what a blocked (or monitored) query leaves behind besides its answer — the
// blocked counters (total, by policy/list/category/action), the protected-users sketch of
// the list's category (the client's address bytes, never stored), and its one log line
// (blocked_log_line.h). Monitored queries (a passthru action) are counted by the same
// labels. Lines go to the blocked-query log (log.blocked_queries: an async logger with a
// bounded queue, so a burst of blocks never waits on journald) in its format, every
// blocked query; without it, an action with `log: true` still writes its queries' lines
// to the main log, as text. Worker thread only.
#pragma once

#include <spdlog/logger.h>

#include <cstdint>
#include <string>

#include "policy/snapshot.h"
#include "resolver/config/config.h"
#include "resolver/dns/answer_builder.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/net/client_endpoint.h"
#include "resolver/pipeline/blocked_log_line.h"
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

  // One blocked query for the question in `cq` from `from`, answered with `rcode` (-1: no
  // answer built at once: dropped, or a redirect resolved later).
  void count(const policy::PolicySnapshot& snap, const policy::Verdict& v,
             const dns::ClientQuery& cq, uint16_t qtype, const net::ClientEndpoint& from,
             int rcode);
  // One monitored query (a passthru rule matched; it is answered as allowed).
  void monitor(const policy::PolicySnapshot& snap, const policy::Verdict& v, const uint8_t* qname,
               size_t qname_len, uint16_t qtype, const net::ClientEndpoint& from);

 private:
  void log_line(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                std::string_view event, const uint8_t* qname, size_t qname_len, uint16_t qtype,
                int rcode, const net::ClientEndpoint& from, spdlog::logger* to,
                config::LogConfig::BlockedFormat format);

  const config::LogConfig* log_cfg_;
  metrics::WorkerCounters& counters_;
  const upstream::Clock& clock_;
  unsigned worker_index_ = 0;
  spdlog::logger* blocked_log_ = nullptr;
  // Reused for every line: no allocation per query once they have grown.
  LogLineBuffer line_;
  std::string name_;
  std::string scratch_;
};

}  // namespace sinkhole::pipeline
