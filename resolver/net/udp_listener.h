// SPDX-License-Identifier: MIT
// UdpListener: one UDP socket of one worker (bound with SO_REUSEPORT by the server, handed
// over as an fd), read and written in batches.
//
// Why not uv_udp_t: it costs one recvmsg per query and one sendmsg per answer. At the rates
// of blocked and cached answers (200k+/s on one core) those syscalls are most of the work,
// so the listener polls the fd itself and moves up to kBatch datagrams per recvmmsg, and the
// answers produced while a batch is handled (blocked, cached, errors: everything answered
// synchronously) are copied into a send batch that one sendmmsg flushes at the end of it.
// Answers produced later (upstream replies, timeouts) go out at once with one sendto.
// All buffers are allocated once here: a query allocates nothing. Worker thread only.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "resolver/metrics/worker_counters.h"
#include "resolver/net/client_endpoint.h"

namespace sinkhole::net {

class UdpListener {
 public:
  // Datagrams per recvmmsg/sendmmsg. 32 amortises the syscall well past the point where it
  // matters and keeps one batch's buffers (2 × 32 × 4 KiB) in L2.
  static constexpr size_t kBatch = 32;
  // Largest query read; a larger datagram cannot be a query (one question, one OPT) and is
  // dropped and counted.
  static constexpr size_t kMaxQuery = 4096;
  // Largest answer that joins a send batch; bigger ones (rare: udp_payload above this) are
  // sent on their own.
  static constexpr size_t kMaxBatchedAnswer = 4096;

  UdpListener(uv_loop_t* loop, int fd, QuerySink& sink, metrics::WorkerCounters& counters);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  bool start();
  // Sends one datagram (now, or at the end of the batch being handled); false (and counted)
  // when the kernel would not take it.
  bool send(const sockaddr* to, const uint8_t* data, size_t len) noexcept;
  // Stops reading new queries; replies can still be sent (graceful shutdown).
  void stop_receiving();
  // Closes the socket; safe to call twice.
  void close();
  bool closed() const { return closed_; }
  // Our address on this socket, for dnstap; null when bound to a wildcard address (the
  // address each datagram was sent to would need IP_PKTINFO on every packet).
  const sockaddr* local_address() const {
    return local_known_ ? reinterpret_cast<const sockaddr*>(&local_) : nullptr;
  }

 private:
  static void on_readable(uv_poll_t* h, int status, int events);
  void read_batches();
  void flush();
  bool send_now(const sockaddr* to, const uint8_t* data, size_t len) noexcept;

  struct Batch;  // the recvmmsg/sendmmsg arrays and buffers
  uv_poll_t poll_{};
  int fd_;
  QuerySink& sink_;
  metrics::WorkerCounters& counters_;
  std::unique_ptr<Batch> batch_;
  size_t pending_ = 0;     // answers waiting in the send batch
  bool in_batch_ = false;  // handling received queries: send() appends to the batch
  bool receiving_ = false;
  bool closed_ = false;
  sockaddr_in6 local_{};
  bool local_known_ = false;
};

}  // namespace sinkhole::net
