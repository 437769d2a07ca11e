// SPDX-License-Identifier: MIT
// TCP for DNS clients per RFC 7766: a 2-byte length prefix before each message, frames that
// may arrive split over any number of reads or several in one read, pipelined queries
// answered as each completes (out of order), an idle timeout, and a per-worker connection
// limit. Worker thread only.
//
// Lifetime: a TcpConnection is owned by its listener's set until it is closed AND no
// in-flight query still refers to it (retain/release); then it deletes itself.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "resolver/metrics/worker_counters.h"
#include "resolver/net/client_endpoint.h"
#include "resolver/net/client_filter.h"

namespace sinkhole::net {

class TcpListener;

class TcpConnection {
 public:
  TcpConnection(TcpListener& owner, uv_loop_t* loop);
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Queues one reply (length prefix added); a no-op once the connection is closing.
  void send(const uint8_t* data, size_t len);
  void retain() { ++refs_; }
  // Our address on this connection, for dnstap; read once, on first use (so it costs
  // nothing when nobody asks). Null when the socket cannot tell.
  const sockaddr* local_address();
  void release();
  // Graceful: no more reads; close once in-flight queries are answered and writes flushed.
  void drain();

 private:
  friend class TcpListener;
  bool accept(uv_stream_t* server);
  bool peer_admitted(const ClientFilter& filter);
  void start();
  void close();
  void maybe_free();
  void process_frames();
  void restart_idle_timer();
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_idle(uv_timer_t* t);
  static void on_closed(uv_handle_t* h);

  TcpListener& owner_;
  uv_tcp_t handle_{};
  uv_timer_t idle_{};
  std::vector<uint8_t> rbuf_;  // unparsed bytes: grows to the largest frame seen
  size_t rlen_ = 0;
  unsigned refs_ = 0;  // in-flight queries + pending writes
  unsigned handles_open_ = 0;
  bool closing_ = false;
  bool draining_ = false;
  ClientEndpoint self_;
  sockaddr_in6 local_{};
  int8_t local_state_ = 0;  // 0: not read yet, 1: in local_, -1: unavailable
};

class TcpListener {
 public:
  struct Options {
    std::chrono::milliseconds idle_timeout{10'000};
    unsigned max_connections = 1000;
  };
  TcpListener(uv_loop_t* loop, int fd, QuerySink& sink, Options opts,
              metrics::WorkerCounters& counters);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  bool start();
  // Before start(): connections from clients `filter` does not admit are closed at accept,
  // unread (it must outlive the listener).
  void set_client_filter(const ClientFilter* filter) { filter_ = filter; }
  // Stops accepting; existing connections drain.
  void close();
  // Closes every connection now, pending writes included (shutdown that took too long).
  void force_close_all();
  size_t connections() const { return open_; }

 private:
  friend class TcpConnection;
  static void on_connection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  uv_tcp_t handle_{};
  QuerySink& sink_;
  Options opts_;
  metrics::WorkerCounters& counters_;
  const ClientFilter* filter_ = nullptr;
  size_t open_ = 0;
  bool closed_ = false;
  std::vector<TcpConnection*> live_;  // for drain(); small, rarely changed
};

}  // namespace sinkhole::net
