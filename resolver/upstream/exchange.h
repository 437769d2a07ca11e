// SPDX-License-Identifier: MIT
// One attempt of one PendingQuery at one upstream: a UDP exchange (fresh socket, so a
// fresh random source port) or a TCP exchange (after a truncated UDP reply). Internal to
// UpstreamPool. An exchange is detached from its query (q = nullptr) the moment the query
// moves on; late callbacks then do nothing, and the memory is recycled only after libuv
// has closed the handles.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "resolver/config/socket_address.h"

namespace sinkhole::upstream {

struct PendingQuery;
class UpstreamPool;

class UdpExchange {
 public:
  explicit UdpExchange(UpstreamPool& pool);
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

  UpstreamPool& pool_;
  uv_udp_t sock_{};
  uv_timer_t timer_{};
  PendingQuery* q_ = nullptr;
  config::SocketAddress to_;
  bool open_ = false;
};

class TcpExchange {
 public:
  TcpExchange(UpstreamPool& pool, uv_loop_t* loop);
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
  void failed(bool hard);

  UpstreamPool& pool_;
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

}  // namespace sinkhole::upstream
