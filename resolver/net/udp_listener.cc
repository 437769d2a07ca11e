// SPDX-License-Identifier: MIT
#include "resolver/net/udp_listener.h"

namespace sinkhole::net {

UdpListener::UdpListener(uv_loop_t* loop, int fd, QuerySink& sink, uint8_t* rx_buffer,
                         size_t rx_size, metrics::WorkerCounters& counters)
    : sink_(sink), rx_(rx_buffer), rx_size_(rx_size), counters_(counters) {
  uv_udp_init(loop, &handle_);
  uv_udp_open(&handle_, fd);
  handle_.data = this;
}

bool UdpListener::start() {
  return uv_udp_recv_start(&handle_, on_alloc, on_recv) == 0;
}

void UdpListener::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<UdpListener*>(h->data);
  *buf = uv_buf_init(reinterpret_cast<char*>(self->rx_), static_cast<unsigned>(self->rx_size_));
}

void UdpListener::on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                          unsigned flags) {
  auto* self = static_cast<UdpListener*>(h->data);
  if (nread < 0 || addr == nullptr) return;  // errors on an unconnected socket: nothing to do
  if (flags & UV_UDP_PARTIAL) return;        // larger than 64 KiB: cannot be a sane query
  ClientEndpoint from;
  from.transport = ClientEndpoint::Transport::kUdp;
  from.udp = self;
  from.set_addr(addr);
  self->sink_.on_query(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread),
                       from);
}

bool UdpListener::send(const sockaddr* to, const uint8_t* data, size_t len) noexcept {
  if (closed_) {
    counters_.inc(metrics::Counter::kSendErrors);
    return false;
  }
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(data)), static_cast<unsigned>(len));
  if (uv_udp_try_send(&handle_, &b, 1, to) < 0) {
    counters_.inc(metrics::Counter::kSendErrors);
    return false;
  }
  return true;
}

void UdpListener::stop_receiving() {
  if (!closed_) uv_udp_recv_stop(&handle_);
}

void UdpListener::close() {
  if (closed_) return;
  closed_ = true;
  uv_udp_recv_stop(&handle_);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), nullptr);
}

}  // namespace sinkhole::net
