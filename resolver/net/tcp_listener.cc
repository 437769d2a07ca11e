// SPDX-License-Identifier: MIT
#include "resolver/net/tcp_listener.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "resolver/dns/wire.h"

namespace sinkhole::net {

using metrics::Counter;

namespace {
// One queued reply: the write request, then the length prefix and the message.
struct WriteReq {
  uv_write_t req;
  TcpConnection* conn;
  size_t len;
  uint8_t data[];  // flexible array: 2 + len bytes
};
}  // namespace

TcpConnection::TcpConnection(TcpListener& owner, uv_loop_t* loop) : owner_(owner) {
  uv_tcp_init(loop, &handle_);
  uv_timer_init(loop, &idle_);
  handle_.data = this;
  idle_.data = this;
  handles_open_ = 2;
  self_.transport = ClientEndpoint::Transport::kTcp;
  self_.tcp = this;
}

bool TcpConnection::accept(uv_stream_t* server) {
  return uv_accept(server, reinterpret_cast<uv_stream_t*>(&handle_)) == 0;
}

bool TcpConnection::peer_admitted(const ClientFilter& filter) {
  sockaddr_storage peer{};
  int len = sizeof peer;
  // A peer the socket cannot name is left to the pipeline's own check.
  if (uv_tcp_getpeername(&handle_, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return true;
  return filter.admits(reinterpret_cast<const sockaddr*>(&peer));
}

void TcpConnection::start() {
  sockaddr_storage peer{};
  int len = sizeof peer;
  if (uv_tcp_getpeername(&handle_, reinterpret_cast<sockaddr*>(&peer), &len) == 0)
    self_.set_addr(reinterpret_cast<sockaddr*>(&peer));
  uv_tcp_nodelay(&handle_, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&handle_), on_alloc, on_read);
  restart_idle_timer();
}

const sockaddr* TcpConnection::local_address() {
  if (local_state_ == 0) {
    int len = sizeof local_;
    local_state_ =
        uv_tcp_getsockname(&handle_, reinterpret_cast<sockaddr*>(&local_), &len) == 0 ? 1 : -1;
  }
  return local_state_ > 0 ? reinterpret_cast<const sockaddr*>(&local_) : nullptr;
}

void TcpConnection::restart_idle_timer() {
  uv_timer_start(&idle_, on_idle, static_cast<uint64_t>(owner_.opts_.idle_timeout.count()), 0);
}

void TcpConnection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(h->data);
  // Keep room for at least one maximal frame tail; the buffer only ever grows to 64 KiB+2.
  constexpr size_t kChunk = 4096;
  if (self->rbuf_.size() - self->rlen_ < kChunk)
    self->rbuf_.resize(std::min(self->rlen_ + kChunk * 2, dns::kMaxMessage + 2 + kChunk));
  *buf = uv_buf_init(reinterpret_cast<char*>(self->rbuf_.data() + self->rlen_),
                     static_cast<unsigned>(self->rbuf_.size() - self->rlen_));
}

void TcpConnection::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<TcpConnection*>(s->data);
  if (nread < 0) {  // EOF or error: the client is gone
    self->close();
    return;
  }
  self->rlen_ += static_cast<size_t>(nread);
  self->restart_idle_timer();
  self->process_frames();
}

void TcpConnection::process_frames() {
  size_t pos = 0;
  while (!closing_ && rlen_ - pos >= 2) {
    const size_t len = dns::read_u16(rbuf_.data() + pos);
    if (len < dns::kHeaderSize) {
      // A frame that cannot hold a header means the stream is out of step: give up on it.
      owner_.counters_.inc(Counter::kTcpBadLength);
      close();
      return;
    }
    if (rlen_ - pos - 2 < len) break;  // wait for the rest of this frame
    owner_.sink_.on_query(rbuf_.data() + pos + 2, len, self_);
    pos += 2 + len;
  }
  if (pos > 0) {
    std::memmove(rbuf_.data(), rbuf_.data() + pos, rlen_ - pos);
    rlen_ -= pos;
  }
}

void TcpConnection::send(const uint8_t* data, size_t len) {
  if (closing_) return;
  auto* w = static_cast<WriteReq*>(std::malloc(sizeof(WriteReq) + 2 + len));
  if (!w) return;
  w->conn = this;
  w->len = len;
  dns::write_u16(w->data, static_cast<uint16_t>(len));
  std::memcpy(w->data + 2, data, len);
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(w->data), static_cast<unsigned>(2 + len));
  ++refs_;
  if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&handle_), &b, 1, on_write) != 0) {
    std::free(w);
    owner_.counters_.inc(Counter::kSendErrors);
    release();
  }
}

void TcpConnection::on_write(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  TcpConnection* self = w->conn;
  std::free(w);
  if (status < 0 && status != UV_ECANCELED) self->owner_.counters_.inc(Counter::kSendErrors);
  self->release();
}

void TcpConnection::release() {
  if (refs_ > 0) --refs_;
  if (refs_ == 0 && draining_) close();
  maybe_free();
}

void TcpConnection::on_idle(uv_timer_t* t) {
  auto* self = static_cast<TcpConnection*>(t->data);
  if (self->refs_ > 0) {  // still answering: idleness counts from the last reply
    self->restart_idle_timer();
    return;
  }
  self->owner_.counters_.inc(Counter::kTcpIdleClosed);
  self->close();
}

void TcpConnection::drain() {
  draining_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
  if (refs_ == 0) close();
}

void TcpConnection::close() {
  if (closing_) return;
  closing_ = true;
  auto& live = owner_.live_;
  live.erase(std::remove(live.begin(), live.end(), this), live.end());
  --owner_.open_;
  uv_timer_stop(&idle_);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), on_closed);
}

void TcpConnection::on_closed(uv_handle_t* h) {
  auto* self = static_cast<TcpConnection*>(h->data);
  --self->handles_open_;
  self->maybe_free();
}

void TcpConnection::maybe_free() {
  if (closing_ && handles_open_ == 0 && refs_ == 0) delete this;
}

TcpListener::TcpListener(uv_loop_t* loop, int fd, QuerySink& sink, Options opts,
                         metrics::WorkerCounters& counters)
    : loop_(loop), sink_(sink), opts_(opts), counters_(counters) {
  uv_tcp_init(loop, &handle_);
  uv_tcp_open(&handle_, fd);
  handle_.data = this;
}

TcpListener::~TcpListener() = default;

bool TcpListener::start() {
  return uv_listen(reinterpret_cast<uv_stream_t*>(&handle_), 1024, on_connection) == 0;
}

void TcpListener::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpListener*>(server->data);
  if (status < 0 || self->closed_) return;
  auto* conn = new TcpConnection(*self, self->loop_);
  ++self->open_;
  self->live_.push_back(conn);
  if (!conn->accept(server)) {
    conn->close();
    return;
  }
  if (self->filter_ && !conn->peer_admitted(*self->filter_)) {
    self->counters_.inc(Counter::kTcpRejectedAcl);
    conn->close();
    return;
  }
  if (self->open_ > self->opts_.max_connections) {
    // Accept-and-close tells the client at once, instead of leaving it in the backlog.
    self->counters_.inc(Counter::kTcpRejectedLimit);
    conn->close();
    return;
  }
  self->counters_.inc(Counter::kTcpConnections);
  conn->start();
}

void TcpListener::close() {
  if (closed_) return;
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), nullptr);
  // drain() may close (and erase) the connection, so iterate over a copy.
  const auto live = live_;
  for (auto* c : live) c->drain();
}

}  // namespace sinkhole::net

namespace sinkhole::net {
void TcpListener::force_close_all() {
  const auto live = live_;
  for (auto* c : live) c->close();
}
}  // namespace sinkhole::net
