// SPDX-License-Identifier: MIT
#include "resolver/net/udp_listener.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sinkhole::net {

namespace {
// Batches read per readiness callback before the loop gets a turn: upstream answers and
// timers of the same worker must not wait behind a flood of client queries.
constexpr int kBatchesPerWakeup = 4;
}  // namespace

struct UdpListener::Batch {
  mmsghdr rx[kBatch];
  iovec rx_iov[kBatch];
  sockaddr_in6 rx_from[kBatch];
  alignas(64) uint8_t rx_data[kBatch][kMaxQuery];
  mmsghdr tx[kBatch];
  iovec tx_iov[kBatch];
  sockaddr_in6 tx_to[kBatch];
  alignas(64) uint8_t tx_data[kBatch][kMaxBatchedAnswer];
};

UdpListener::UdpListener(uv_loop_t* loop, int fd, QuerySink& sink,
                         metrics::WorkerCounters& counters)
    : fd_(fd), sink_(sink), counters_(counters), batch_(std::make_unique<Batch>()) {
  uv_poll_init_socket(loop, &poll_, fd);
  poll_.data = this;
  Batch& b = *batch_;
  std::memset(b.rx, 0, sizeof b.rx);
  std::memset(b.tx, 0, sizeof b.tx);
  for (size_t i = 0; i < kBatch; ++i) {
    b.rx_iov[i] = {b.rx_data[i], kMaxQuery};
    b.rx[i].msg_hdr.msg_iov = &b.rx_iov[i];
    b.rx[i].msg_hdr.msg_iovlen = 1;
    b.rx[i].msg_hdr.msg_name = &b.rx_from[i];
    b.tx_iov[i] = {b.tx_data[i], 0};
    b.tx[i].msg_hdr.msg_iov = &b.tx_iov[i];
    b.tx[i].msg_hdr.msg_iovlen = 1;
    b.tx[i].msg_hdr.msg_name = &b.tx_to[i];
  }
  // Read once for dnstap's response_address: free per query, unknown for a wildcard bind.
  socklen_t len = sizeof local_;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local_), &len) == 0) {
    const auto* sa = reinterpret_cast<const sockaddr*>(&local_);
    if (sa->sa_family == AF_INET)
      local_known_ = reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr != INADDR_ANY;
    else if (sa->sa_family == AF_INET6)
      local_known_ = !IN6_IS_ADDR_UNSPECIFIED(&local_.sin6_addr);
  }
}

UdpListener::~UdpListener() {
  if (!closed_ && fd_ >= 0) ::close(fd_);
}

bool UdpListener::start() {
  receiving_ = uv_poll_start(&poll_, UV_READABLE, on_readable) == 0;
  return receiving_;
}

void UdpListener::on_readable(uv_poll_t* h, int status, int) {
  if (status < 0) return;  // a socket error (e.g. a queued ICMP): the next read clears it
  static_cast<UdpListener*>(h->data)->read_batches();
}

void UdpListener::read_batches() {
  Batch& b = *batch_;
  for (int round = 0; round < kBatchesPerWakeup && receiving_; ++round) {
    for (size_t i = 0; i < kBatch; ++i) {
      b.rx[i].msg_hdr.msg_namelen = sizeof(sockaddr_in6);
      b.rx[i].msg_hdr.msg_flags = 0;
    }
    const int n = recvmmsg(fd_, b.rx, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;  // EAGAIN: drained; other errors: nothing to do on this socket
    in_batch_ = true;
    for (int i = 0; i < n; ++i) {
      const msghdr& m = b.rx[i].msg_hdr;
      if (m.msg_flags & MSG_TRUNC) {
        counters_.inc(metrics::Counter::kDropOversize);
        continue;
      }
      ClientEndpoint from;
      from.transport = ClientEndpoint::Transport::kUdp;
      from.udp = this;
      from.set_addr(reinterpret_cast<const sockaddr*>(&b.rx_from[i]));
      sink_.on_query(b.rx_data[i], b.rx[i].msg_len, from);
    }
    in_batch_ = false;
    flush();
    if (static_cast<size_t>(n) < kBatch) return;  // the socket is empty for now
  }
}

bool UdpListener::send(const sockaddr* to, const uint8_t* data, size_t len) noexcept {
  if (closed_) {
    counters_.inc(metrics::Counter::kSendErrors);
    return false;
  }
  if (!in_batch_ || len > kMaxBatchedAnswer) return send_now(to, data, len);
  if (pending_ == kBatch) flush();  // more answers than queries read: cannot happen today
  Batch& b = *batch_;
  const size_t i = pending_++;
  std::memcpy(b.tx_data[i], data, len);
  b.tx_iov[i].iov_len = len;
  const socklen_t alen = to->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  std::memcpy(&b.tx_to[i], to, alen);
  b.tx[i].msg_hdr.msg_namelen = alen;
  return true;  // a send error of the batch is counted by flush()
}

void UdpListener::flush() {
  Batch& b = *batch_;
  size_t done = 0;
  while (done < pending_) {
    const int n = sendmmsg(fd_, b.tx + done, static_cast<unsigned>(pending_ - done), 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // The kernel refused the next datagram (full buffer, unreachable address): count it
    // lost and go on with the rest, as sendto() per answer would have.
    counters_.inc(metrics::Counter::kSendErrors);
    ++done;
  }
  pending_ = 0;
}

bool UdpListener::send_now(const sockaddr* to, const uint8_t* data, size_t len) noexcept {
  const socklen_t alen = to->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  ssize_t n;
  do {
    n = ::sendto(fd_, data, len, MSG_DONTWAIT, to, alen);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    counters_.inc(metrics::Counter::kSendErrors);
    return false;
  }
  return true;
}

void UdpListener::stop_receiving() {
  if (closed_ || !receiving_) return;
  receiving_ = false;
  uv_poll_stop(&poll_);
}

void UdpListener::close() {
  if (closed_) return;
  stop_receiving();
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
  // The poll handle is stopped, so the loop no longer watches the fd: closing it now is safe.
  ::close(fd_);
}

}  // namespace sinkhole::net
