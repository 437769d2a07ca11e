// SPDX-License-Identifier: MIT
// SocketTransport: the real upstream Transport on the worker's libuv loop.
//
// UDP: a per-worker pool of connected UDP sockets, each bound to port 0 (so the kernel
// gives it a random port from its ephemeral range) and connected to one upstream, so the
// kernel drops datagrams from any other address or port. A socket carries at most
// `socket_reuse` attempts over its life, then is retired: it takes no new attempt and
// closes once its last one is over; an ICMP error retires it at once and fails the
// attempts on it. Each upstream has kLiveSockets sockets taking new attempts, and an
// attempt goes to one of them at random, so consecutive queries do not share a port. Every
// attempt has its own random 16-bit ID (UpstreamPool), unique among the attempts in flight
// on its socket; a reply is matched by socket, then ID, and the pool checks the question.
// Opening a socket (socket, bind, connect, close: 28% of a forwarded query's CPU when
// every attempt had its own) now happens once per `socket_reuse` attempts.
//
// Bound: a socket stays open only while it is live (at most kLiveSockets per upstream) or
// has an attempt in flight, so a worker has at most kLiveSockets × upstreams +
// upstream.max_inflight upstream UDP sockets open (one attempt per question in flight),
// whatever the load. Unbound (outside_network.c, a random port per query from a pool of
// `outgoing-range` ports) and dnsdist (a fixed set of sockets per backend, reused
// forever) sit at either end; this is between them.
//
// TCP: one connection per attempt (after a truncated UDP reply; rare, so a connection pool
// would not pay for itself). An attempt is detached from its query (q = nullptr) the
// moment the query moves on; late callbacks then do nothing, and the memory is recycled
// only after libuv has closed the handles. Worker thread only.
#pragma once

#include <uv.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "resolver/config/socket_address.h"
#include "resolver/dns/wire.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/upstream/random_source.h"
#include "resolver/upstream/transport.h"

namespace sinkhole::upstream {

struct PendingQuery;
class SocketTransport;
class UdpSocket;

// One UDP attempt of one query: its socket, its ID and its timer.
class UdpExchange {
 public:
  explicit UdpExchange(SocketTransport& transport);
  // Sends `len` bytes (whose ID is `id`) on `socket`; false on a socket error.
  bool start(PendingQuery& q, UdpSocket& socket, uint16_t id, const uint8_t* data, size_t len,
             uint64_t timeout_ms);
  // Stops the attempt and returns the exchange to the pool.
  void finish();
  uv_timer_t* timer() { return &timer_; }
  PendingQuery* query() const { return q_; }
  uint16_t id() const { return id_; }
  // The socket failed or closed under this attempt.
  void lose_socket() { socket_ = nullptr; }
  // The socket failed under this attempt inside another call: report an error from the
  // loop's next turn (never from inside send()).
  void fail_soon();

 private:
  static void on_timeout(uv_timer_t* t);
  friend class SocketTransport;
  static void on_timer_closed(uv_handle_t* h);

  SocketTransport& transport_;
  uv_timer_t timer_{};
  PendingQuery* q_ = nullptr;
  UdpSocket* socket_ = nullptr;
  uint16_t id_ = 0;
  bool failed_ = false;  // the timer reports an error, not a timeout
};

// One connected UDP socket to one upstream, shared by up to socket_reuse attempts.
class UdpSocket {
 public:
  explicit UdpSocket(SocketTransport& transport);
  // Binds a random port, connects to `to`, starts reading; false on a socket error.
  bool open(unsigned upstream, unsigned live_slot, const config::SocketAddress& to);
  // True when an attempt with this ID is in flight here.
  bool has_id(uint16_t id) const;
  // Sends for `e` and counts a use; false on a send error (the socket is then retired).
  bool send(UdpExchange& e, const uint8_t* data, size_t len);
  // `e`'s attempt is over; a retired socket closes with its last attempt.
  void remove(UdpExchange& e);
  // Takes no new attempt from now on.
  void retire();
  void close();
  bool is_open() const { return state_ == State::kOpen; }

 private:
  enum class State : uint8_t { kClosed, kOpen, kClosing };
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags);
  static void on_closed(uv_handle_t* h);
  void fail_all();

  SocketTransport& transport_;
  uv_udp_t sock_{};
  config::SocketAddress to_;
  unsigned upstream_ = 0;
  unsigned live_slot_ = 0;
  unsigned uses_ = 0;
  bool retired_ = false;
  State state_ = State::kClosed;
  std::vector<UdpExchange*> inflight_;  // at most socket_reuse; capacity kept across uses
  // Every ID sent on this socket (at most socket_reuse): a reply with one of them whose
  // attempt is over is late, any other ID is forged.
  std::vector<uint16_t> sent_ids_;
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
  // Sockets per upstream that take new attempts (an attempt picks one at random).
  static constexpr unsigned kLiveSockets = 4;
  struct Options {
    unsigned socket_reuse = 16;  // UDP attempts per socket (upstream.socket_reuse)
  };
  // `counters`: sockets opened; replies from a wrong source or with an ID the socket never
  // sent (upstream_spoofed), or for an attempt already over (upstream_late_replies).
  SocketTransport(uv_loop_t* loop, metrics::WorkerCounters& counters, Options opts);
  ~SocketTransport() override;
  SocketTransport(const SocketTransport&) = delete;
  SocketTransport& operator=(const SocketTransport&) = delete;

  void set_events(TransportEvents& events) override { events_ = &events; }
  bool send(PendingQuery& q, const config::SocketAddress& to, unsigned upstream, bool tcp,
            const uint8_t* data, size_t len, uint64_t timeout_ms) override;
  void cancel(PendingQuery& q) override;
  void close() override;
  // UDP sockets open now, live and retired (tests, and the bound above).
  size_t open_udp_sockets() const { return open_sockets_; }
  // After close(): every handle has been closed, so the transport may be destroyed (a
  // worker frees the transport of an upstream pool a reload replaced).
  bool closed_fully() const { return closed_ && open_sockets_ == 0 && closing_timers_ == 0; }

 private:
  friend class UdpExchange;
  friend class UdpSocket;
  friend class TcpExchange;
  UdpExchange* acquire_udp();
  void recycle_udp(UdpExchange* e) { udp_free_.push_back(e); }
  // A live socket to `upstream` without `id` in flight, opened if need be; null on error.
  UdpSocket* socket_for(unsigned upstream, const config::SocketAddress& to, uint16_t id);
  UdpSocket* open_socket(unsigned upstream, unsigned live_slot, const config::SocketAddress& to);
  void unlist(unsigned upstream, unsigned live_slot, UdpSocket* s);
  void recycle_socket(UdpSocket* s);

  uv_loop_t* loop_;
  metrics::WorkerCounters& counters_;
  Options opts_;
  TransportEvents* events_ = nullptr;
  RandomSource random_;
  std::vector<std::unique_ptr<UdpExchange>> udp_store_;
  std::vector<UdpExchange*> udp_free_;
  std::vector<std::unique_ptr<UdpSocket>> socket_store_;
  std::vector<UdpSocket*> socket_free_;
  std::vector<std::array<UdpSocket*, kLiveSockets>> live_;  // per upstream
  size_t open_sockets_ = 0;
  size_t closing_timers_ = 0;
  bool closed_ = false;
  uint8_t rx_[dns::kMaxMessage];  // every UDP socket reads here: one reply at a time
};

}  // namespace sinkhole::upstream
