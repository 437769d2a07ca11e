// SPDX-License-Identifier: MIT
// NetReplySink: the real ReplySink. UDP answers leave through the listener the query came
// in on (batched by it), TCP answers through their connection, which stays alive while a
// deferred answer holds it. When dnstap is on, every answered query and every answer is
// handed to this worker's tap with the client's and our address. Worker thread only.
#pragma once

#include "resolver/pipeline/reply_sink.h"

namespace sinkhole::dnstap {
class WorkerTap;
}

namespace sinkhole::pipeline {

class NetReplySink final : public ReplySink {
 public:
  // Before serving: this worker's dnstap tap (null: dnstap off, one pointer test per query).
  void set_dnstap(dnstap::WorkerTap* tap) { tap_ = tap; }
  bool tapping() const { return tap_ != nullptr; }

  void received(const net::ClientEndpoint& from, const uint8_t* msg, size_t len) override;
  void send(const net::ClientEndpoint& to, const uint8_t* data, size_t len) override;
  void hold(const net::ClientEndpoint& to) override;
  void release(const net::ClientEndpoint& to) override;

 private:
  dnstap::WorkerTap* tap_ = nullptr;
};

}  // namespace sinkhole::pipeline
