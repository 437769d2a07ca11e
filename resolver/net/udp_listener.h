// SPDX-License-Identifier: MIT
// UdpListener: one UDP socket of one worker (bound with SO_REUSEPORT by the server, handed
// over as an fd). Receives into the worker's buffer, so a read allocates nothing, and
// replies with uv_udp_try_send, which copies nothing and never queues. Worker thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>

#include "resolver/metrics/worker_counters.h"
#include "resolver/net/client_endpoint.h"

namespace sinkhole::net {

class UdpListener {
 public:
  UdpListener(uv_loop_t* loop, int fd, QuerySink& sink, uint8_t* rx_buffer, size_t rx_size,
              metrics::WorkerCounters& counters);
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  bool start();
  // Sends one datagram now; false (and counted) when the kernel would not take it.
  bool send(const sockaddr* to, const uint8_t* data, size_t len) noexcept;
  // Stops reading new queries; replies can still be sent (graceful shutdown).
  void stop_receiving();
  // Closes the socket; safe to call twice.
  void close();
  bool closed() const { return closed_; }

 private:
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags);

  uv_udp_t handle_{};
  QuerySink& sink_;
  uint8_t* rx_;
  size_t rx_size_;
  metrics::WorkerCounters& counters_;
  bool closed_ = false;
};

}  // namespace sinkhole::net
