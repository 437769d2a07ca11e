// SPDX-License-Identifier: MIT
// ReplySink: where the pipeline's answers go — the seam between the query pipeline and the
// network. NetReplySink (net_reply_sink.h) writes to the client's UDP socket or TCP
// connection and feeds dnstap; the pipeline tests record the answers instead.
// Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/net/client_endpoint.h"

namespace sinkhole::pipeline {

class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // A query that parsed far enough to be answered (dnstap logs it as CLIENT_QUERY); called
  // only when the pipeline was told the sink logs queries (set_log_queries).
  virtual void received(const net::ClientEndpoint& from, const uint8_t* msg, size_t len) = 0;
  // One complete DNS message for the client at `to`.
  virtual void send(const net::ClientEndpoint& to, const uint8_t* data, size_t len) = 0;
  // The client's answer is deferred (waiting on an upstream): keep `to` valid — a TCP
  // connection stays open — until release().
  virtual void hold(const net::ClientEndpoint& to) = 0;
  virtual void release(const net::ClientEndpoint& to) = 0;
};

}  // namespace sinkhole::pipeline
