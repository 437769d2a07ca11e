// SPDX-License-Identifier: MIT
#include "resolver/upstream/socket_transport.h"

#include <algorithm>
#include <cstring>

#include "resolver/upstream/inflight_table.h"

namespace sinkhole::upstream {

using metrics::Counter;

// --- SocketTransport -------------------------------------------------------------------

SocketTransport::SocketTransport(uv_loop_t* loop, metrics::WorkerCounters& counters, Options opts)
    : loop_(loop), counters_(counters), opts_(opts) {
  if (opts_.socket_reuse == 0) opts_.socket_reuse = 1;
}

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

UdpSocket* SocketTransport::open_socket(unsigned upstream, unsigned live_slot,
                                        const config::SocketAddress& to) {
  UdpSocket* s;
  if (socket_free_.empty()) {
    socket_store_.push_back(std::make_unique<UdpSocket>(*this));
    s = socket_store_.back().get();
  } else {
    s = socket_free_.back();
    socket_free_.pop_back();
  }
  return s->open(upstream, live_slot, to) ? s : nullptr;
}

void SocketTransport::unlist(unsigned upstream, unsigned live_slot, UdpSocket* s) {
  if (upstream < live_.size() && live_[upstream][live_slot] == s)
    live_[upstream][live_slot] = nullptr;
}

void SocketTransport::recycle_socket(UdpSocket* s) {
  socket_free_.push_back(s);
}

UdpSocket* SocketTransport::socket_for(unsigned upstream, const config::SocketAddress& to,
                                       uint16_t id) {
  if (upstream >= live_.size()) live_.resize(upstream + 1, {});  // once per upstream
  auto& live = live_[upstream];
  const unsigned first = random_.next_u16() % kLiveSockets;
  for (unsigned i = 0; i < kLiveSockets; ++i) {
    const unsigned slot = (first + i) % kLiveSockets;
    if (!live[slot]) return live[slot] = open_socket(upstream, slot, to);
    if (!live[slot]->has_id(id)) return live[slot];
  }
  // This ID is in flight on every live socket (about as likely as five random IDs being
  // equal): a fresh socket keeps (socket, ID) unique.
  live[first]->retire();
  return live[first] = open_socket(upstream, first, to);
}

bool SocketTransport::send(PendingQuery& q, const config::SocketAddress& to, unsigned upstream,
                           bool tcp, const uint8_t* data, size_t len, uint64_t timeout_ms) {
  if (tcp) {
    auto* e = new TcpExchange(*this, loop_);
    q.tcp = e;
    e->start(q, to, data, len, timeout_ms);
    return true;
  }
  if (len < dns::kHeaderSize) return false;
  UdpSocket* socket = socket_for(upstream, to, dns::read_u16(data + dns::kOffId));
  if (!socket) return false;
  UdpExchange* e = acquire_udp();
  q.udp = e;
  if (e->start(q, *socket, dns::read_u16(data + dns::kOffId), data, len, timeout_ms)) return true;
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
  if (closed_) return;
  closed_ = true;
  for (auto& s : socket_store_)
    if (s->is_open()) s->close();
  for (auto& e : udp_store_) {
    ++closing_timers_;
    uv_close(reinterpret_cast<uv_handle_t*>(e->timer()), UdpExchange::on_timer_closed);
  }
}

// --- UdpExchange -----------------------------------------------------------------------

UdpExchange::UdpExchange(SocketTransport& transport) : transport_(transport) {
  uv_timer_init(transport.loop_, &timer_);
  timer_.data = this;
}

bool UdpExchange::start(PendingQuery& q, UdpSocket& socket, uint16_t id, const uint8_t* data,
                        size_t len, uint64_t timeout_ms) {
  q_ = &q;
  socket_ = &socket;
  id_ = id;
  failed_ = false;
  if (!socket.send(*this, data, len)) return false;
  uv_timer_start(&timer_, on_timeout, timeout_ms, 0);
  return true;
}

void UdpExchange::on_timer_closed(uv_handle_t* h) {
  --static_cast<UdpExchange*>(h->data)->transport_.closing_timers_;
}

void UdpExchange::fail_soon() {
  socket_ = nullptr;
  failed_ = true;
  uv_timer_start(&timer_, on_timeout, 0, 0);
}

void UdpExchange::finish() {
  q_ = nullptr;
  failed_ = false;
  uv_timer_stop(&timer_);
  if (UdpSocket* s = socket_) {
    socket_ = nullptr;
    s->remove(*this);
  }
  transport_.recycle_udp(this);
}

void UdpExchange::on_timeout(uv_timer_t* t) {
  auto* self = static_cast<UdpExchange*>(t->data);
  if (!self->q_) return;
  if (self->failed_)
    self->transport_.events_->on_transport_error(*self->q_);
  else
    self->transport_.events_->on_transport_timeout(*self->q_);
}

// --- UdpSocket -------------------------------------------------------------------------

UdpSocket::UdpSocket(SocketTransport& transport) : transport_(transport) {}

bool UdpSocket::open(unsigned upstream, unsigned live_slot, const config::SocketAddress& to) {
  to_ = to;
  upstream_ = upstream;
  live_slot_ = live_slot;
  uses_ = 0;
  retired_ = false;
  inflight_.clear();
  inflight_.reserve(transport_.opts_.socket_reuse);  // grows once per socket object
  sent_ids_.clear();
  sent_ids_.reserve(transport_.opts_.socket_reuse);
  if (uv_udp_init(transport_.loop_, &sock_) != 0) {
    transport_.recycle_socket(this);
    return false;
  }
  sock_.data = this;
  state_ = State::kOpen;
  ++transport_.open_sockets_;
  transport_.counters_.inc(Counter::kUpstreamSocketsOpened);
  // Port 0: the kernel picks a random port from its ephemeral range (RFC 5452 §9.2).
  sockaddr_in6 any6{};
  sockaddr_in any4{};
  any6.sin6_family = AF_INET6;
  any4.sin_family = AF_INET;
  const sockaddr* any = to.family() == AF_INET6 ? reinterpret_cast<const sockaddr*>(&any6)
                                                : reinterpret_cast<const sockaddr*>(&any4);
  if (uv_udp_bind(&sock_, any, 0) != 0 || uv_udp_connect(&sock_, to.sa()) != 0 ||
      uv_udp_recv_start(&sock_, on_alloc, on_recv) != 0) {
    retired_ = true;
    close();
    return false;
  }
  return true;
}

bool UdpSocket::has_id(uint16_t id) const {
  for (const UdpExchange* e : inflight_)
    if (e->id() == id) return true;
  return false;
}

bool UdpSocket::send(UdpExchange& e, const uint8_t* data, size_t len) {
  inflight_.push_back(&e);
  sent_ids_.push_back(e.id());
  if (++uses_ >= transport_.opts_.socket_reuse) retire();
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(data)), static_cast<unsigned>(len));
  const int rc = uv_udp_try_send(&sock_, &b, 1, nullptr);
  if (rc >= 0) return true;
  if (rc == UV_EAGAIN || rc == UV_ENOBUFS) return false;  // this attempt only (finish removes it)
  // Linux hands a connected socket's pending ICMP error to its next call, here this send:
  // the error belongs to the attempts already in flight, which would never hear of it.
  for (UdpExchange* other : inflight_)
    if (other != &e) other->fail_soon();
  inflight_.assign(1, &e);
  retire();
  return false;
}

void UdpSocket::remove(UdpExchange& e) {
  for (auto& slot : inflight_) {
    if (slot != &e) continue;
    slot = inflight_.back();
    inflight_.pop_back();
    break;
  }
  if (retired_ && inflight_.empty()) close();
}

void UdpSocket::retire() {
  if (retired_) return;
  retired_ = true;
  transport_.unlist(upstream_, live_slot_, this);
  if (inflight_.empty()) close();
}

void UdpSocket::close() {
  if (state_ != State::kOpen) return;
  retired_ = true;
  transport_.unlist(upstream_, live_slot_, this);
  for (UdpExchange* e : inflight_) e->lose_socket();
  inflight_.clear();
  state_ = State::kClosing;
  uv_udp_recv_stop(&sock_);
  uv_close(reinterpret_cast<uv_handle_t*>(&sock_), on_closed);
}

void UdpSocket::on_closed(uv_handle_t* h) {
  auto* self = static_cast<UdpSocket*>(h->data);
  self->state_ = State::kClosed;
  --self->transport_.open_sockets_;
  self->transport_.recycle_socket(self);
}

// An ICMP error (port unreachable, host unreachable) on a connected socket concerns its
// upstream, so every attempt on it fails; the socket is not used again.
void UdpSocket::fail_all() {
  retire();
  while (!inflight_.empty()) {
    UdpExchange* e = inflight_.back();
    inflight_.pop_back();
    e->lose_socket();
    transport_.events_->on_transport_error(*e->query());
  }
  close();
}

void UdpSocket::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<UdpSocket*>(h->data);
  *buf = uv_buf_init(reinterpret_cast<char*>(self->transport_.rx_), sizeof self->transport_.rx_);
}

void UdpSocket::on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned) {
  auto* self = static_cast<UdpSocket*>(h->data);
  if (self->state_ != State::kOpen) return;
  if (nread < 0) return self->fail_all();
  if (addr == nullptr) return;  // nothing more to read
  metrics::WorkerCounters& counters = self->transport_.counters_;
  // Connected: the kernel delivers only the upstream's datagrams. Checked all the same.
  if (!self->to_.same_endpoint(addr)) {
    counters.inc(Counter::kUpstreamSpoofed);
    return;
  }
  const auto* data = reinterpret_cast<const uint8_t*>(buf->base);
  const uint16_t id = nread >= 2 ? dns::read_u16(data + dns::kOffId) : 0;
  for (UdpExchange* e : self->inflight_) {
    if (nread < 2 || e->id() != id) continue;
    self->transport_.events_->on_transport_reply(*e->query(), data, static_cast<size_t>(nread),
                                                 /*over_tcp=*/false);
    return;  // the handler may have changed inflight_
  }
  const bool late = nread >= 2 && std::find(self->sent_ids_.begin(), self->sent_ids_.end(), id) !=
                                      self->sent_ids_.end();
  counters.inc(late ? Counter::kUpstreamLateReplies : Counter::kUpstreamSpoofed);
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
