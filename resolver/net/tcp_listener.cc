// SPDX-License-Identifier: MIT
#include "resolver/net/tcp_listener.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "resolver/dns/wire.h"
#include "resolver/net/proxy_apply.h"
#include "resolver/net/proxy_header.h"

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

TcpConnection::TcpConnection(TcpConnectionTable& table, QuerySink& sink, uv_loop_t* loop)
    : table_(table), sink_(sink) {
  uv_tcp_init(loop, &handle_);
  uv_timer_init(loop, &timer_);
  handle_.data = this;
  timer_.data = this;
  handles_open_ = 2;
  self_.transport = ClientEndpoint::Transport::kTcp;
  self_.tcp = this;
}

bool TcpConnection::accept(uv_stream_t* server) {
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&handle_)) != 0) return false;
  // A client that already reset has no peer name, but its query may still be readable
  // (and answered into the void, as before the reset): it goes on as address family 0.
  sockaddr_storage peer{};
  int len = sizeof peer;
  if (uv_tcp_getpeername(&handle_, reinterpret_cast<sockaddr*>(&peer), &len) == 0)
    self_.set_addr(reinterpret_cast<sockaddr*>(&peer));
  return true;
}

bool TcpConnection::peer_admitted(const ClientFilter& filter) {
  sockaddr_storage peer{};
  int len = sizeof peer;
  // A peer the socket cannot name is left to the pipeline's own check.
  if (uv_tcp_getpeername(&handle_, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return true;
  return filter.admits(reinterpret_cast<const sockaddr*>(&peer));
}

void TcpConnection::start() {
  uv_tcp_nodelay(&handle_, 1);
  // The kernel's send buffer is bounded too (autotuning lets it reach megabytes per
  // socket): half the bound, which Linux doubles, so that a client that does not read
  // holds at most the bound in the kernel and the bound again here.
  int sndbuf = static_cast<int>(table_.limits().max_queued_bytes / 2);
  uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(&handle_), &sndbuf);
  idle_since_ = now();
  reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&handle_), on_alloc, on_read) == 0;
  arm_timer();
}

uint64_t TcpConnection::now() const {
  return uv_now(handle_.loop);
}

size_t TcpConnection::queued_bytes() const {
  return uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&handle_));
}

const sockaddr* TcpConnection::local_address() {
  if (local_state_ == 0) {
    int len = sizeof local_;
    local_state_ =
        uv_tcp_getsockname(&handle_, reinterpret_cast<sockaddr*>(&local_), &len) == 0 ? 1 : -1;
  }
  return local_state_ > 0 ? reinterpret_cast<const sockaddr*>(&local_) : nullptr;
}

void TcpConnection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(h->data);
  // Room for at least one chunk; the buffer only ever grows to one maximal frame plus a
  // chunk, because complete frames are consumed after every read.
  constexpr size_t kChunk = 4096;
  if (self->rbuf_.size() - self->rlen_ < kChunk)
    self->rbuf_.resize(
        std::min(self->rlen_ + kChunk * 2, self->table_.limits().max_query_size + 2 + kChunk));
  *buf = uv_buf_init(reinterpret_cast<char*>(self->rbuf_.data() + self->rlen_),
                     static_cast<unsigned>(self->rbuf_.size() - self->rlen_));
}

void TcpConnection::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<TcpConnection*>(s->data);
  if (nread < 0) {  // EOF or error: the client is gone
    self->close();
    return;
  }
  if (nread == 0) return;
  self->rlen_ += static_cast<size_t>(nread);
  self->process_frames();
  self->arm_timer();
}

bool TcpConnection::over_pause_mark() const {
  return in_flight() >= kMaxPipelined || queued_bytes() > table_.limits().max_queued_bytes / 2;
}

size_t TcpConnection::read_proxy_preamble() {
  if (rlen_ == 0) return 0;
  if (preamble_ == Preamble::kRefuseHeader) {
    const size_t n = std::min(rlen_, sizeof kProxyV2Signature);
    if (std::memcmp(rbuf_.data(), kProxyV2Signature, n) != 0)
      preamble_ = Preamble::kSettled;
    else if (n == sizeof kProxyV2Signature)
      close(Counter::kProxyHeaderUntrusted);
    // else: a prefix of the signature; no frame can complete before the rest arrives.
    return 0;
  }
  size_t header_len = 0;
  switch (apply_proxy_header(rbuf_.data(), rlen_, self_, header_len)) {
    case ProxyApplied::kApplied:
      break;
    case ProxyApplied::kIncomplete:
      return 0;  // query_timeout runs from its first byte
    case ProxyApplied::kMissing:
      close(Counter::kProxyHeaderMissing);
      return 0;
    case ProxyApplied::kMalformed:
      close(Counter::kProxyHeaderMalformed);
      return 0;
  }
  preamble_ = Preamble::kSettled;
  proxied_ = true;
  if (filter_ && !filter_->admits(self_.sa())) {
    close(Counter::kTcpRejectedAcl);
    return 0;
  }
  return header_len;
}

void TcpConnection::process_frames() {
  const auto& limits = table_.limits();
  size_t pos = 0;
  if (preamble_ != Preamble::kSettled) [[unlikely]] {
    pos = read_proxy_preamble();
    if (closing_) return;
  }
  bool completed = false;
  while (!closing_ && preamble_ != Preamble::kExpectHeader && rlen_ - pos >= 2) {
    if (over_pause_mark()) {
      pause();
      break;
    }
    const size_t len = dns::read_u16(rbuf_.data() + pos);
    if (len < dns::kHeaderSize) {
      // A frame that cannot hold a header means the stream is out of step: give up on it.
      close(Counter::kTcpBadLength);
      return;
    }
    if (len > limits.max_query_size) {  // never buffered: the prefix alone decides
      close(Counter::kTcpClosedOversize);
      return;
    }
    if (rlen_ - pos - 2 < len) break;  // wait for the rest of this frame
    completed = true;
    if (proxied_) table_.counters().inc(Counter::kQueriesProxied);
    sink_.on_query(rbuf_.data() + pos + 2, len, self_);
    pos += 2 + len;
  }
  if (closing_) return;
  if (pos > 0) {
    std::memmove(rbuf_.data(), rbuf_.data() + pos, rlen_ - pos);
    rlen_ -= pos;
  }
  if (completed) {
    idle_since_ = now();
    table_.touch(this);
    frame_started_ = 0;
  }
  // The query timeout runs from the first byte of a frame not yet whole.
  if (rlen_ == 0)
    frame_started_ = 0;
  else if (frame_started_ == 0)
    frame_started_ = now();
}

void TcpConnection::pause() {
  if (!paused_) table_.counters().inc(Counter::kTcpPaused);
  paused_ = true;
  if (reading_) uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
  reading_ = false;
}

void TcpConnection::resume() {
  paused_ = false;
  if (!draining_) process_frames();  // the frames that waited in the buffer
  if (closing_) return;
  if (!paused_ && !draining_ && !reading_)
    reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&handle_), on_alloc, on_read) == 0;
  arm_timer();
}

void TcpConnection::send(const uint8_t* data, size_t len) {
  if (closing_) return;
  // Counted as if none of it went to the kernel: a conservative bound, one check.
  if (queued_bytes() + 2 + len > table_.limits().max_queued_bytes) {
    close(Counter::kTcpClosedWriteBound);
    return;
  }
  auto* w = static_cast<WriteReq*>(std::malloc(sizeof(WriteReq) + 2 + len));
  if (!w) return;
  w->conn = this;
  w->len = len;
  dns::write_u16(w->data, static_cast<uint16_t>(len));
  std::memcpy(w->data + 2, data, len);
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(w->data), static_cast<unsigned>(2 + len));
  ++refs_;
  if (writes_++ == 0) write_progress_ = now();
  if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&handle_), &b, 1, on_write) != 0) {
    std::free(w);
    table_.counters().inc(Counter::kSendErrors);
    --writes_;
    release();
    return;
  }
  if (over_pause_mark()) pause();
  arm_timer();
}

void TcpConnection::on_write(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  TcpConnection* self = w->conn;
  std::free(w);
  if (status < 0 && status != UV_ECANCELED) self->table_.counters().inc(Counter::kSendErrors);
  if (self->writes_ > 0) --self->writes_;
  if (!self->closing_) self->write_progress_ = self->now();
  self->release();
}

void TcpConnection::release() {
  if (refs_ > 0) --refs_;
  if (!closing_) {
    if (refs_ == 0) idle_since_ = now();
    if (refs_ == 0 && draining_) {
      close();
    } else if (paused_ && !resume_pending_ && in_flight() < kMaxPipelined &&
               queued_bytes() <= table_.limits().max_queued_bytes / 4) {
      // Not from here: release() runs inside the pipeline's answer path, and resuming
      // feeds the pipeline new queries. The timer resumes on the next loop turn.
      resume_pending_ = true;
      armed_for_ = 0;
      uv_timer_start(&timer_, on_timer, 0, 0);
    } else {
      arm_timer();
    }
  }
  maybe_free();
}

void TcpConnection::arm_timer() {
  if (closing_ || resume_pending_) return;
  const auto& limits = table_.limits();
  uint64_t deadline = 0;
  auto consider = [&](uint64_t from, std::chrono::milliseconds after) {
    const uint64_t t = from + static_cast<uint64_t>(after.count());
    if (deadline == 0 || t < deadline) deadline = t;
  };
  if (writes_ > 0) consider(write_progress_, limits.write_timeout);
  if (!paused_ && frame_started_ != 0)
    consider(frame_started_, limits.query_timeout);
  else if (refs_ == 0 && rlen_ == 0)
    consider(idle_since_, limits.idle_timeout);
  if (deadline == armed_for_) return;
  armed_for_ = deadline;
  if (deadline == 0) {
    uv_timer_stop(&timer_);
    return;
  }
  const uint64_t t = now();
  uv_timer_start(&timer_, on_timer, deadline > t ? deadline - t : 0, 0);
}

void TcpConnection::on_timer(uv_timer_t* t) {
  auto* self = static_cast<TcpConnection*>(t->data);
  self->armed_for_ = 0;
  if (self->resume_pending_) {
    self->resume_pending_ = false;
    self->resume();
    return;
  }
  // Which deadline passed, in the order arm_timer considered them.
  const auto& limits = self->table_.limits();
  const uint64_t now = self->now();
  auto passed = [&](uint64_t from, std::chrono::milliseconds after) {
    return from + static_cast<uint64_t>(after.count()) <= now;
  };
  if (self->writes_ > 0 && passed(self->write_progress_, limits.write_timeout))
    self->close(Counter::kTcpClosedWriteTimeout);
  else if (!self->paused_ && self->frame_started_ != 0 &&
           passed(self->frame_started_, limits.query_timeout))
    self->close(Counter::kTcpClosedQueryTimeout);
  else if (!self->paused_ && self->frame_started_ == 0 && self->refs_ == 0 && self->rlen_ == 0 &&
           passed(self->idle_since_, limits.idle_timeout))
    self->close(Counter::kTcpIdleClosed);
  else
    self->arm_timer();
}

void TcpConnection::drain() {
  draining_ = true;
  if (reading_) uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
  reading_ = false;
  if (refs_ == 0) close();
}

void TcpConnection::close(Counter why) {
  if (closing_) return;
  closing_ = true;
  if (why != Counter::kCount) table_.counters().inc(why);
  table_.remove(this);
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_closed);
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

TcpListener::TcpListener(uv_loop_t* loop, int fd, QuerySink& sink, TcpConnectionTable& table)
    : loop_(loop), sink_(sink), table_(table) {
  uv_tcp_init(loop, &handle_);
  uv_tcp_open(&handle_, fd);
  handle_.data = this;
  uv_check_init(loop, &round_end_);
  round_end_.data = this;
}

TcpListener::~TcpListener() = default;

bool TcpListener::start() {
  return uv_listen(reinterpret_cast<uv_stream_t*>(&handle_), 1024, on_connection) == 0;
}

void TcpListener::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpListener*>(server->data);
  if (self->closed_) return;
  if (status < 0) {  // EMFILE and the like: libuv has already shed the connection
    self->table_.counters().inc(Counter::kTcpAcceptErrors);
    return;
  }
  // Past the batch: not taking the fd makes libuv stop watching the listener until
  // on_round_end takes it (uv_accept starts the watch again).
  if (self->accepted_this_round_ == 0) uv_check_start(&self->round_end_, on_round_end);
  if (++self->accepted_this_round_ > kAcceptBatch) {
    self->accept_deferred_ = true;
    return;
  }
  auto* conn = new TcpConnection(self->table_, self->sink_, self->loop_);
  if (!conn->accept(server)) {
    self->table_.counters().inc(Counter::kTcpAcceptErrors);
    conn->close();
    return;
  }
  // A trusted proxy's client is known, and asked about, once its header is read.
  const bool via_proxy = self->filter_ && self->filter_->trusts_proxy(conn->self_.peer_sa());
  if (via_proxy) {
    conn->preamble_ = TcpConnection::Preamble::kExpectHeader;
    conn->filter_ = self->filter_;
  } else if (self->filter_ && !conn->peer_admitted(*self->filter_)) {
    self->table_.counters().inc(Counter::kTcpRejectedAcl);
    conn->close();
    return;
  }
  // Refused: accept-and-close tells the client at once, instead of leaving it in the
  // backlog.
  if (!self->table_.admit(conn, ClientKey::of(conn->self_.peer_sa()),
                          /*per_client_limit=*/!via_proxy)) {
    conn->close();
    return;
  }
  self->table_.counters().inc(Counter::kTcpConnections);
  conn->start();
}

void TcpListener::on_round_end(uv_check_t* check) {
  auto* self = static_cast<TcpListener*>(check->data);
  uv_check_stop(check);
  self->accepted_this_round_ = 0;
  if (self->accept_deferred_ && !self->closed_) {
    self->accept_deferred_ = false;
    on_connection(reinterpret_cast<uv_stream_t*>(&self->handle_), 0);
  }
}

void TcpListener::close() {
  if (closed_) return;
  closed_ = true;
  // A deferred fd still held by libuv is closed with the handle.
  uv_close(reinterpret_cast<uv_handle_t*>(&round_end_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), nullptr);
}

}  // namespace sinkhole::net
