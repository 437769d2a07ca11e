// SPDX-License-Identifier: MIT
// Transport: how UpstreamPool's attempts reach an upstream and how their outcome comes
// back. The pool decides (which upstream, which ID, UDP or TCP, how long to wait, what a
// reply means); a Transport only carries bytes and keeps time for one attempt at a time
// per PendingQuery. SocketTransport (socket_transport.h) is the real one; the pipeline
// tests use a fake that replays replies, errors and timeouts in-process.
// Worker thread only; events are delivered on the same thread, never from inside send().
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/config/socket_address.h"

namespace sinkhole::upstream {

struct PendingQuery;

// What a Transport reports about the current attempt of a PendingQuery. After any of these
// the attempt is still current until the pool cancels it or starts another.
class TransportEvents {
 public:
  virtual ~TransportEvents() = default;
  // A message arrived from the attempt's upstream (not yet checked: any bytes).
  virtual void on_transport_reply(PendingQuery& q, const uint8_t* data, size_t len,
                                  bool over_tcp) = 0;
  // No complete reply within the attempt's timeout.
  virtual void on_transport_timeout(PendingQuery& q) = 0;
  // The attempt failed at once (refused, unreachable, connection closed).
  virtual void on_transport_error(PendingQuery& q) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Where events go; set once, before the first send.
  virtual void set_events(TransportEvents& events) = 0;
  // Starts an attempt for `q` at `to` (index `upstream` in the pool's list), over TCP when
  // `tcp`. False when it could not even be sent; then no event follows.
  virtual bool send(PendingQuery& q, const config::SocketAddress& to, unsigned upstream, bool tcp,
                    const uint8_t* data, size_t len, uint64_t timeout_ms) = 0;
  // Abandons q's current attempt, if any: no event for it afterwards.
  virtual void cancel(PendingQuery& q) = 0;
  // Releases sockets and timers; nothing is in flight.
  virtual void close() = 0;
};

}  // namespace sinkhole::upstream
