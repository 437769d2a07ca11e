// SPDX-License-Identifier: MIT
// QueryHandler: the request pipeline of one worker, one call per stage (see STYLE.md §1):
// parse → meta queries → (policy, cache: later issues) → upstream, and the answers that come
// back from upstream. Each stage returns a typed outcome; counting happens here.
// Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/config/config.h"
#include "resolver/dns/answer_builder.h"
#include "resolver/dns/query_view.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/net/client_endpoint.h"
#include "resolver/upstream/inflight_table.h"
#include "resolver/upstream/upstream_pool.h"

namespace sinkhole::server {

class QueryHandler final : public net::QuerySink, public upstream::UpstreamDelegate {
 public:
  QueryHandler(const config::Config& cfg, metrics::WorkerCounters& counters);
  // The pool is created after the handler (it needs the handler as delegate).
  void set_upstreams(upstream::UpstreamPool* pool) { pool_ = pool; }

  void on_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from) override;
  void on_upstream_answer(upstream::PendingQuery& q, const uint8_t* resp,
                          const dns::MessageView& m) override;
  void on_upstream_failure(upstream::PendingQuery& q) override;

  // Questions waiting on an upstream (graceful shutdown waits for 0).
  size_t in_flight() const { return inflight_.size(); }
  // Answers every waiting client with SERVFAIL (forced shutdown).
  void fail_all();

 private:
  enum class Stage : uint8_t { kContinue, kAnswered, kDropped };

  Stage reject_malformed(const dns::QueryView& q, const uint8_t* msg, size_t limit,
                         const net::ClientEndpoint& from);
  Stage answer_meta(const dns::QueryView& q, const dns::ClientQuery& cq,
                    const net::ClientEndpoint& from);
  void forward(const dns::QueryView& q, const uint8_t* msg, const dns::ClientQuery& cq,
               const net::ClientEndpoint& from);

  void send(const net::ClientEndpoint& to, const uint8_t* data, size_t len);
  void count_rcode(uint16_t rcode);

  const config::Config& cfg_;
  metrics::WorkerCounters& counters_;
  upstream::InflightTable inflight_;
  upstream::UpstreamPool* pool_ = nullptr;
  alignas(64) uint8_t tx_[dns::kMaxMessage + 1024];
};

}  // namespace sinkhole::server
