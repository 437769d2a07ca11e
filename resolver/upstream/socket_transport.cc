// SPDX-License-Identifier: MIT
#include "resolver/upstream/socket_transport.h"

#include <cstring>

#include "resolver/upstream/inflight_table.h"

namespace sinkhole::upstream {

using metrics::Counter;

// --- SocketTransport -------------------------------------------------------------------

SocketTransport::SocketTransport(uv_loop_t* loop, metrics::WorkerCounters& counters)
    : loop_(loop), counters_(counters) {}

SocketTransport::~SocketTransport() = default;

UdpExchange* SocketTransport::acquire_udp() {
  if (udp_free_.empty()) {
    udp_store_.push_back(std::make_unique<UdpExchange>(*this));
    return udp_store_.back().get();
  }
  UdpExchange* e = udp_free_.back();
  udp_free_.pop_back();
  return e;
}

bool SocketTransport::send(PendingQuery& q, const config::SocketAddress& to, unsigned, bool tcp,
                           const uint8_t* data, size_t len, uint64_t timeout_ms) {
  if (tcp) {
    auto* e = new TcpExchange(*this, loop_);
    q.tcp = e;
    e->start(q, to, data, len, timeout_ms);
    return true;
  }
  UdpExchange* e = acquire_udp();
  q.udp = e;
  if (e->start(q, to, data, len, timeout_ms)) return true;
  e->finish();
  q.udp = nullptr;
  return false;
}

void SocketTransport::cancel(PendingQuery& q) {
  if (q.udp) {
    q.udp->finish();
    q.udp = nullptr;
  }
  if (q.tcp) {
    q.tcp->finish();
    q.tcp = nullptr;
  }
}

void SocketTransport::close() {
  for (auto& e : udp_store_) uv_close(reinterpret_cast<uv_handle_t*>(e->timer()), nullptr);
}

// --- UdpExchange -----------------------------------------------------------------------

UdpExchange::UdpExchange(SocketTransport& transport) : transport_(transport) {
  uv_timer_init(transport.loop_, &timer_);
  timer_.data = this;
}

bool UdpExchange::start(PendingQuery& q, const config::SocketAddress& to, const uint8_t* data,
                        size_t len, uint64_t timeout_ms) {
  q_ = &q;
  to_ = to;
  uv_udp_init(transport_.loop_, &sock_);
  sock_.data = this;
  open_ = true;
  // Port 0: the kernel picks a random ephemeral port for each new socket.
  sockaddr_in6 any6{};
  sockaddr_in any4{};
  any6.sin6_family = AF_INET6;
  any4.sin_family = AF_INET;
  const sockaddr* any = to.family() == AF_INET6 ? reinterpret_cast<const sockaddr*>(&any6)
                                                : reinterpret_cast<const sockaddr*>(&any4);
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(data)), static_cast<unsigned>(len));
  if (uv_udp_bind(&sock_, any, 0) != 0 || uv_udp_connect(&sock_, to.sa()) != 0 ||
      uv_udp_recv_start(&sock_, on_alloc, on_recv) != 0 ||
      uv_udp_try_send(&sock_, &b, 1, nullptr) < 0)
    return false;
  uv_timer_start(&timer_, on_timeout, timeout_ms, 0);
  return true;
}

void UdpExchange::finish() {
  q_ = nullptr;
  uv_timer_stop(&timer_);
  if (!open_) {
    transport_.recycle_udp(this);
    return;
  }
  open_ = false;
  uv_udp_recv_stop(&sock_);
  uv_close(reinterpret_cast<uv_handle_t*>(&sock_), on_closed);
}

void UdpExchange::on_closed(uv_handle_t* h) {
  auto* self = static_cast<UdpExchange*>(h->data);
  self->transport_.recycle_udp(self);
}

void UdpExchange::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<UdpExchange*>(h->data);
  *buf = uv_buf_init(reinterpret_cast<char*>(self->transport_.rx_), sizeof self->transport_.rx_);
}

void UdpExchange::on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                          unsigned) {
  auto* self = static_cast<UdpExchange*>(h->data);
  if (!self->q_) return;
  if (nread < 0) {  // ICMP refused/unreachable on the connected socket
    self->transport_.events_->on_transport_error(*self->q_);
    return;
  }
  if (addr == nullptr) return;  // nothing more to read
  if (!self->to_.same_endpoint(addr)) {
    self->transport_.counters_.inc(Counter::kUpstreamSpoofed);
    return;
  }
  self->transport_.events_->on_transport_reply(
      *self->q_, reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread),
      /*over_tcp=*/false);
}

void UdpExchange::on_timeout(uv_timer_t* t) {
  auto* self = static_cast<UdpExchange*>(t->data);
  if (!self->q_) return;
  self->transport_.events_->on_transport_timeout(*self->q_);
}

// --- TcpExchange -----------------------------------------------------------------------

TcpExchange::TcpExchange(SocketTransport& transport, uv_loop_t* loop) : transport_(transport) {
  uv_tcp_init(loop, &sock_);
  uv_timer_init(loop, &timer_);
  sock_.data = this;
  timer_.data = this;
  connect_req_.data = this;
  write_req_.data = this;
}

void TcpExchange::start(PendingQuery& q, const config::SocketAddress& to, const uint8_t* data,
                        size_t len, uint64_t timeout_ms) {
  q_ = &q;
  wbuf_.resize(2 + len);
  dns::write_u16(wbuf_.data(), static_cast<uint16_t>(len));
  std::memcpy(wbuf_.data() + 2, data, len);
  uv_timer_start(&timer_, on_timeout, timeout_ms, 0);
  if (uv_tcp_connect(&connect_req_, &sock_, to.sa(), on_connect) != 0) {
    // Report from the timer's next tick, not from inside send(): the caller still holds q.
    uv_timer_start(
        &timer_, [](uv_timer_t* t) { static_cast<TcpExchange*>(t->data)->failed(false); }, 0, 0);
  }
}

void TcpExchange::failed(bool timed_out) {
  if (!q_) return;
  if (timed_out)
    transport_.events_->on_transport_timeout(*q_);
  else
    transport_.events_->on_transport_error(*q_);
}

void TcpExchange::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<TcpExchange*>(req->data);
  if (!self->q_ || status == UV_ECANCELED) return;
  if (status < 0) return self->failed(false);
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(self->wbuf_.data()),
                           static_cast<unsigned>(self->wbuf_.size()));
  auto* stream = reinterpret_cast<uv_stream_t*>(&self->sock_);
  if (uv_write(&self->write_req_, stream, &b, 1, on_write) != 0 ||
      uv_read_start(stream, on_alloc, on_read) != 0)
    self->failed(false);
}

void TcpExchange::on_write(uv_write_t* req, int status) {
  auto* self = static_cast<TcpExchange*>(req->data);
  if (!self->q_ || status == UV_ECANCELED) return;
  if (status < 0) self->failed(false);
}

void TcpExchange::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpExchange*>(h->data);
  if (self->rbuf_.size() - self->rlen_ < 4096) self->rbuf_.resize(self->rlen_ + 16384);
  *buf = uv_buf_init(reinterpret_cast<char*>(self->rbuf_.data() + self->rlen_),
                     static_cast<unsigned>(self->rbuf_.size() - self->rlen_));
}

void TcpExchange::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<TcpExchange*>(s->data);
  if (!self->q_) return;
  if (nread < 0) return self->failed(false);  // closed before a whole reply
  self->rlen_ += static_cast<size_t>(nread);
  if (self->rlen_ < 2) return;
  const size_t len = dns::read_u16(self->rbuf_.data());
  if (self->rlen_ < 2 + len) return;
  self->transport_.events_->on_transport_reply(*self->q_, self->rbuf_.data() + 2, len,
                                               /*over_tcp=*/true);
}

void TcpExchange::on_timeout(uv_timer_t* t) {
  auto* self = static_cast<TcpExchange*>(t->data);
  if (!self->q_) return;
  self->failed(true);
}

void TcpExchange::finish() {
  q_ = nullptr;
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&sock_), on_closed);
}

void TcpExchange::on_closed(uv_handle_t* h) {
  auto* self = static_cast<TcpExchange*>(h->data);
  if (--self->handles_open_ == 0) delete self;
}

}  // namespace sinkhole::upstream
