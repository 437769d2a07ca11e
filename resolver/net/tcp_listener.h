// SPDX-License-Identifier: MIT
// TCP for DNS clients per RFC 7766: a 2-byte length prefix before each message, frames that
// may arrive split over any number of reads or several in one read, pipelined queries
// answered as each completes (out of order). Worker thread only.
//
// Every connection is bounded (TcpLimits, tcp_connection_table.h), so that no client can
// make the server hold memory, a slot or a file descriptor for long without doing DNS:
//   - idle: nothing pending and no complete query for idle_timeout (counted from the last
//     complete query, the last answer written or the accept — bytes that trickle in do
//     not count) → closed;
//   - a frame begun must be whole within query_timeout → closed (a trickling client);
//   - a length prefix over max_query_size → closed at once, nothing buffered;
//   - answers queued in user space (bytes the kernel did not take: the client does not
//     read) over half of max_queued_bytes → the connection is paused: no reading, no
//     further buffered frames answered, until the queue falls under a quarter; answers
//     still arriving for queries in flight past max_queued_bytes → closed; the kernel's
//     send buffer is set to match, so the kernel holds no more than that either;
//   - queued answers making no progress (no write completes) for write_timeout → closed;
//   - at most kMaxPipelined queries in flight per connection: more pause reading;
//   - total and per-address connection counts (TcpConnectionTable).
// One timer per connection, armed for the earliest deadline that applies.
//
// PROXY v2 (server.proxy_protocol_from, ClientFilter::trusts_proxy): a connection from a
// trusted proxy must begin with a header (resolver/net/proxy_header.h), whole within
// query_timeout of its first byte (at most 16 + 512 bytes; a longer one is malformed at
// once). The header's source becomes the connection's client (ClientEndpoint::addr) and
// only then is the ACL asked about it; the accept-time ACL check is skipped for the proxy
// itself. No header (a DNS frame first), a broken one, or a client the ACL refuses closes
// the connection, counted. A trusted proxy is exempt from max_connections_per_client (it
// carries many clients; it still counts against max_connections). A connection from any
// other source that begins with the signature is closed (proxy_header_untrusted).
//
// Lifetime: a TcpConnection is owned by the table until it is closed AND no in-flight
// query still refers to it (retain/release); then it deletes itself.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "resolver/metrics/worker_counters.h"
#include "resolver/net/client_endpoint.h"
#include "resolver/net/client_filter.h"
#include "resolver/net/tcp_connection_table.h"

namespace sinkhole::net {

class TcpConnection {
 public:
  TcpConnection(TcpConnectionTable& table, QuerySink& sink, uv_loop_t* loop);
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Queues one reply (length prefix added); a no-op once the connection is closing.
  void send(const uint8_t* data, size_t len);
  // An in-flight query holds the connection (and counts against kMaxPipelined).
  void retain() { ++refs_; }
  // Our address on this connection, for dnstap; read once, on first use (so it costs
  // nothing when nobody asks). Null when the socket cannot tell.
  const sockaddr* local_address();
  void release();
  // Graceful: no more reads; close once in-flight queries are answered and writes flushed.
  void drain();
  // Now, pending writes dropped; `why` is counted unless it is Counter::kCount.
  void close(metrics::Counter why = metrics::Counter::kCount);

  // Queries a connection may have in flight before reading pauses: a pipelining client
  // gets back-pressure, not an unbounded share of the worker's in-flight table.
  static constexpr unsigned kMaxPipelined = 128;

 private:
  friend class TcpListener;
  friend class TcpConnectionTable;
  bool accept(uv_stream_t* server);
  bool peer_admitted(const ClientFilter& filter);
  // The start of the stream, before any frame: the PROXY v2 header of a trusted proxy
  // (consumed: its length is returned), or a check that nobody else sent one. May close.
  size_t read_proxy_preamble();
  void start();
  void maybe_free();
  void process_frames();
  bool over_pause_mark() const;
  void pause();
  void resume();
  void arm_timer();
  size_t queued_bytes() const;
  unsigned in_flight() const { return refs_ - writes_; }
  uint64_t now() const;
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_timer(uv_timer_t* t);
  static void on_closed(uv_handle_t* h);

  TcpConnectionTable& table_;
  QuerySink& sink_;
  uv_tcp_t handle_{};
  uv_timer_t timer_{};
  std::vector<uint8_t> rbuf_;  // unparsed bytes: grows to the largest frame allowed
  size_t rlen_ = 0;
  unsigned refs_ = 0;    // in-flight queries + pending writes
  unsigned writes_ = 0;  // pending writes
  unsigned handles_open_ = 0;
  bool closing_ = false;
  bool draining_ = false;
  bool reading_ = false;
  bool paused_ = false;          // back-pressure: not reading, buffered frames wait
  bool resume_pending_ = false;  // the timer fires at once to resume
  // Loop times (ms): idleness starts at the last complete query, last write completed or
  // the accept; a partial frame's first byte; the last write progress.
  uint64_t idle_since_ = 0;
  uint64_t frame_started_ = 0;  // 0: no partial frame
  uint64_t write_progress_ = 0;
  uint64_t armed_for_ = 0;  // the deadline the timer is set for (0: none)
  ClientEndpoint self_;
  // What the start of the stream must be: anything but a PROXY header (kRefuseHeader,
  // until the first bytes show it is not one), a header (kExpectHeader), or settled.
  enum class Preamble : uint8_t { kSettled, kRefuseHeader, kExpectHeader };
  Preamble preamble_ = Preamble::kRefuseHeader;
  bool proxied_ = false;  // a trusted proxy's connection: its queries are counted as such
  const ClientFilter* filter_ = nullptr;  // asked about the client a header names
  ClientKey key_;
  sockaddr_in6 local_{};
  int8_t local_state_ = 0;  // 0: not read yet, 1: in local_, -1: unavailable
  // TcpConnectionTable's intrusive idle order.
  bool in_table_ = false;
  TcpConnection* older_ = nullptr;
  TcpConnection* newer_ = nullptr;
};

class TcpListener {
 public:
  TcpListener(uv_loop_t* loop, int fd, QuerySink& sink, TcpConnectionTable& table);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  bool start();
  // Before start(): connections from clients `filter` does not admit are closed at accept,
  // unread (it must outlive the listener).
  void set_client_filter(const ClientFilter* filter) { filter_ = filter; }
  // Stops accepting (the table drains the connections).
  void close();

  // Connections accepted per loop round before the listener waits for the next one.
  // libuv accepts until the backlog is empty: in a flood at the connection limit that is
  // a thousand accepts in one round, each evicting the idlest connection, before any of
  // them is read, so a fresh client whose query is already in its socket was evicted
  // unread (seen under ASan in fault test 7). A bounded batch lets the reads of the
  // connections just accepted run between batches (nginx's multi_accept off, in spirit).
  static constexpr unsigned kAcceptBatch = 64;

 private:
  static void on_connection(uv_stream_t* server, int status);
  // The loop's check phase, after the round's I/O: a new batch may begin.
  static void on_round_end(uv_check_t* check);

  uv_loop_t* loop_;
  uv_tcp_t handle_{};
  uv_check_t round_end_{};  // started by the round's first accept, stopped when it ends
  unsigned accepted_this_round_ = 0;
  bool accept_deferred_ = false;  // libuv holds an accepted fd until we take it
  QuerySink& sink_;
  TcpConnectionTable& table_;
  const ClientFilter* filter_ = nullptr;
  bool closed_ = false;
};

}  // namespace sinkhole::net
