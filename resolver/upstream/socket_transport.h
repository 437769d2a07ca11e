// SPDX-License-Identifier: MIT
// SocketTransport: the real upstream Transport on the worker's libuv loop. One attempt of
// one PendingQuery at one upstream is a UDP exchange (a fresh socket, so a fresh random
// source port; replies accepted only from the upstream's address) or a TCP exchange (after
// a truncated UDP reply; one connection per retry: truncation is rare, so a connection pool
// would not pay for itself). An exchange is detached from its query (q = nullptr) the
// moment the query moves on; late callbacks then do nothing, and the memory is recycled
// only after libuv has closed the handles. Worker thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "resolver/config/socket_address.h"
#include "resolver/dns/wire.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/upstream/transport.h"

namespace sinkhole::upstream {

struct PendingQuery;
class SocketTransport;

class UdpExchange {
 public:
  explicit UdpExchange(SocketTransport& transport);
  // Opens a socket connected to `to` and sends `len` bytes; false on a socket error.
  bool start(PendingQuery& q, const config::SocketAddress& to, const uint8_t* data, size_t len,
             uint64_t timeout_ms);
  // Stops the attempt; the exchange returns to the pool once its socket is closed.
  void finish();
  uv_timer_t* timer() { return &timer_; }

 private:
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags);
  static void on_timeout(uv_timer_t* t);
  static void on_closed(uv_handle_t* h);

  SocketTransport& transport_;
  uv_udp_t sock_{};
  uv_timer_t timer_{};
  PendingQuery* q_ = nullptr;
  config::SocketAddress to_;
  bool open_ = false;
};

class TcpExchange {
 public:
  TcpExchange(SocketTransport& transport, uv_loop_t* loop);
  void start(PendingQuery& q, const config::SocketAddress& to, const uint8_t* data, size_t len,
             uint64_t timeout_ms);
  // Stops the attempt and deletes the exchange once its handles are closed.
  void finish();

 private:
  static void on_connect(uv_connect_t* req, int status);
  static void on_write(uv_write_t* req, int status);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_timeout(uv_timer_t* t);
  static void on_closed(uv_handle_t* h);
  void failed(bool timed_out);

  SocketTransport& transport_;
  uv_tcp_t sock_{};
  uv_timer_t timer_{};
  uv_connect_t connect_req_{};
  uv_write_t write_req_{};
  std::vector<uint8_t> wbuf_;
  std::vector<uint8_t> rbuf_;
  size_t rlen_ = 0;
  PendingQuery* q_ = nullptr;
  int handles_open_ = 2;
};

class SocketTransport final : public Transport {
 public:
  // `counters`: replies from a wrong source are counted here (upstream_spoofed).
  SocketTransport(uv_loop_t* loop, metrics::WorkerCounters& counters);
  ~SocketTransport() override;
  SocketTransport(const SocketTransport&) = delete;
  SocketTransport& operator=(const SocketTransport&) = delete;

  void set_events(TransportEvents& events) override { events_ = &events; }
  bool send(PendingQuery& q, const config::SocketAddress& to, unsigned upstream, bool tcp,
            const uint8_t* data, size_t len, uint64_t timeout_ms) override;
  void cancel(PendingQuery& q) override;
  void close() override;

 private:
  friend class UdpExchange;
  friend class TcpExchange;
  UdpExchange* acquire_udp();
  void recycle_udp(UdpExchange* e) { udp_free_.push_back(e); }

  uv_loop_t* loop_;
  metrics::WorkerCounters& counters_;
  TransportEvents* events_ = nullptr;
  std::vector<std::unique_ptr<UdpExchange>> udp_store_;
  std::vector<UdpExchange*> udp_free_;
  uint8_t rx_[dns::kMaxMessage];  // every UDP exchange reads here: one reply at a time
};

}  // namespace sinkhole::upstream
