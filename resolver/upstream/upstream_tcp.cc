// SPDX-License-Identifier: MIT
// TcpExchange: the retry over TCP after a truncated UDP reply (RFC 7766 §5). One
// connection per retry: truncation is rare, so a connection pool would not pay for itself.
#include <cstring>

#include "resolver/dns/wire.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/upstream/exchange.h"
#include "resolver/upstream/upstream_pool.h"

namespace sinkhole::upstream {

using metrics::Counter;

TcpExchange::TcpExchange(UpstreamPool& pool, uv_loop_t* loop) : pool_(pool) {
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
    // Report from the timer's next tick, not from inside start(): the caller still holds q.
    uv_timer_start(
        &timer_, [](uv_timer_t* t) { static_cast<TcpExchange*>(t->data)->failed(true); }, 0, 0);
  }
}

void TcpExchange::failed(bool hard) {
  if (!q_) return;
  if (hard) pool_.counters_.inc(Counter::kUpstreamErrors);
  pool_.on_attempt_failed(*q_, hard);
}

void TcpExchange::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<TcpExchange*>(req->data);
  if (!self->q_ || status == UV_ECANCELED) return;
  if (status < 0) return self->failed(true);
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(self->wbuf_.data()),
                           static_cast<unsigned>(self->wbuf_.size()));
  auto* stream = reinterpret_cast<uv_stream_t*>(&self->sock_);
  if (uv_write(&self->write_req_, stream, &b, 1, on_write) != 0 ||
      uv_read_start(stream, on_alloc, on_read) != 0)
    self->failed(true);
}

void TcpExchange::on_write(uv_write_t* req, int status) {
  auto* self = static_cast<TcpExchange*>(req->data);
  if (!self->q_ || status == UV_ECANCELED) return;
  if (status < 0) self->failed(true);
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
  if (nread < 0) return self->failed(true);  // closed before a whole reply
  self->rlen_ += static_cast<size_t>(nread);
  if (self->rlen_ < 2) return;
  const size_t len = dns::read_u16(self->rbuf_.data());
  if (self->rlen_ < 2 + len) return;
  self->pool_.on_reply(*self->q_, self->rbuf_.data() + 2, len, /*over_tcp=*/true);
}

void TcpExchange::on_timeout(uv_timer_t* t) {
  auto* self = static_cast<TcpExchange*>(t->data);
  if (!self->q_) return;
  self->pool_.counters_.inc(Counter::kUpstreamTimeouts);
  self->failed(false);
}

void TcpExchange::finish() {
  q_ = nullptr;
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&sock_), on_closed);
}

void TcpExchange::on_closed(uv_handle_t* h) {
  auto* self = static_cast<TcpExchange*>(h->data);
  if (--self->handles_open_ == 0) {
    --self->pool_.tcp_open_;
    delete self;
  }
}

}  // namespace sinkhole::upstream
