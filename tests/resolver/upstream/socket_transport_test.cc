// SPDX-License-Identifier: MIT
// SocketTransport's UDP pool on a real libuv loop against an in-process UDP "upstream" on
// 127.0.0.1: a socket carries at most socket_reuse attempts; ports differ between sockets;
// (socket, ID) pairs in flight are unique; replies are matched by ID on their socket, and
// forged IDs and late replies ignored and counted apart; an ICMP error fails every attempt on its
// socket and retires it; timeouts fire; close() leaves no handle open.
#include "resolver/upstream/socket_transport.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "resolver/upstream/inflight_table.h"

namespace {

using sinkhole::config::SocketAddress;
using sinkhole::metrics::Counter;
using sinkhole::metrics::WorkerCounters;
using sinkhole::upstream::PendingQuery;
using sinkhole::upstream::SocketTransport;
using sinkhole::upstream::TransportEvents;

struct Event {
  PendingQuery* q;
  char kind;  // 'r' reply, 't' timeout, 'e' error
  uint16_t id;
};

// Records every event and, as UpstreamPool does, ends the attempt.
class Recorder final : public TransportEvents {
 public:
  explicit Recorder(SocketTransport& t) : t_(t) {}
  std::vector<Event> events;
  void on_transport_reply(PendingQuery& q, const uint8_t* data, size_t len, bool) override {
    REQUIRE(len >= 2);
    events.push_back({&q, 'r', static_cast<uint16_t>(data[0] << 8 | data[1])});
    t_.cancel(q);
  }
  void on_transport_timeout(PendingQuery& q) override {
    events.push_back({&q, 't', 0});
    t_.cancel(q);
  }
  void on_transport_error(PendingQuery& q) override {
    events.push_back({&q, 'e', 0});
    t_.cancel(q);
  }

 private:
  SocketTransport& t_;
};

// A plain UDP socket on 127.0.0.1 playing the upstream.
class FakeUpstream {
 public:
  FakeUpstream() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    timeval tv{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakeUpstream() { ::close(fd_); }
  SocketAddress address() const {
    return *SocketAddress::parse("127.0.0.1:" + std::to_string(port_), 53);
  }
  struct Got {
    uint16_t id = 0;
    sockaddr_in from{};
    uint16_t port() const { return ntohs(from.sin_port); }
  };
  Got receive() {
    uint8_t buf[512];
    Got g;
    socklen_t len = sizeof g.from;
    const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&g.from), &len);
    REQUIRE(n >= 12);
    g.id = static_cast<uint16_t>(buf[0] << 8 | buf[1]);
    return g;
  }
  void reply(const Got& to, uint16_t id) {
    uint8_t msg[12] = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x81, 0x80};
    sendto(fd_, msg, sizeof msg, 0, reinterpret_cast<const sockaddr*>(&to.from), sizeof to.from);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

struct Loop {
  uv_loop_t loop{};
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);  // let closing handles finish
    CHECK(uv_loop_close(&loop) == 0);
  }
  // Runs the loop until `done` or two seconds.
  bool pump(const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      uv_run(&loop, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }
};

std::vector<uint8_t> query_bytes(uint16_t id) {
  std::vector<uint8_t> q(17, 0);
  q[0] = static_cast<uint8_t>(id >> 8);
  q[1] = static_cast<uint8_t>(id);
  q[2] = 0x01;
  return q;
}

struct Harness {
  Loop loop;
  WorkerCounters counters;
  SocketTransport transport;
  Recorder events{transport};
  std::vector<std::unique_ptr<PendingQuery>> queries;

  explicit Harness(unsigned reuse) : transport(&loop.loop, counters, {reuse}) {
    transport.set_events(events);
  }
  ~Harness() {
    for (auto& q : queries) transport.cancel(*q);
    transport.close();
    uv_run(&loop.loop, UV_RUN_DEFAULT);  // the sockets' close callbacks, before they go
  }
  bool try_send(const SocketAddress& to, uint16_t id, uint64_t timeout_ms = 2000) {
    queries.push_back(std::make_unique<PendingQuery>());
    const auto bytes = query_bytes(id);
    return transport.send(*queries.back(), to, 0, false, bytes.data(), bytes.size(), timeout_ms);
  }
  PendingQuery& send(const SocketAddress& to, uint16_t id, uint64_t timeout_ms = 2000) {
    REQUIRE(try_send(to, id, timeout_ms));
    return *queries.back();
  }
};

}  // namespace

TEST_CASE("a UDP socket carries at most socket_reuse attempts; each socket its own port") {
  FakeUpstream up;
  Harness h(/*reuse=*/4);
  std::map<uint16_t, int> uses_per_port;
  const int n = 40;
  for (int i = 0; i < n; ++i) {
    const uint16_t id = static_cast<uint16_t>(1000 + i * 7);
    PendingQuery& q = h.send(up.address(), id);
    const auto got = up.receive();
    CHECK(got.id == id);
    ++uses_per_port[got.port()];
    up.reply(got, id);
    REQUIRE(h.loop.pump([&] { return h.events.events.size() == static_cast<size_t>(i + 1); }));
    CHECK(h.events.events.back().q == &q);
    CHECK(h.events.events.back().kind == 'r');
  }
  // The kernel may give a closed socket's port to a later socket (rarely): once is allowed.
  int over = 0;
  for (const auto& [port, uses] : uses_per_port) {
    INFO("port " << port);
    CHECK(uses <= 8);
    over += uses > 4;
  }
  CHECK(over <= 1);
  // Every socket but the (at most kLiveSockets) live ones was used exactly 4 times.
  const uint64_t opened = h.counters.get(Counter::kUpstreamSocketsOpened);
  CHECK(opened >= n / 4);
  CHECK(opened <= n / 4 + SocketTransport::kLiveSockets);
  CHECK(uses_per_port.size() >= static_cast<size_t>(n / 4));
  // Retired sockets are closed once their last attempt is over; only live ones stay.
  h.loop.pump([&] { return h.transport.open_udp_sockets() <= SocketTransport::kLiveSockets; });
  CHECK(h.transport.open_udp_sockets() <= SocketTransport::kLiveSockets);
  CHECK(h.counters.get(Counter::kUpstreamLateReplies) == 0);
  CHECK(h.counters.get(Counter::kUpstreamSpoofed) == 0);
}

TEST_CASE("replies are matched by ID on their socket; a forged ID is ignored and counted") {
  FakeUpstream up;
  Harness h(/*reuse=*/16);
  std::vector<PendingQuery*> sent;
  std::vector<FakeUpstream::Got> got;
  for (uint16_t i = 0; i < 8; ++i) {
    sent.push_back(&h.send(up.address(), static_cast<uint16_t>(0x100 + i)));
    got.push_back(up.receive());
    CHECK(got.back().id == 0x100 + i);
  }
  // A reply with an ID never sent, on a socket that has attempts in flight.
  up.reply(got[0], 0x7777);
  // The real replies, last first.
  for (int i = 7; i >= 0; --i) up.reply(got[i], got[i].id);
  REQUIRE(h.loop.pump([&] { return h.events.events.size() == 8; }));
  for (const auto& e : h.events.events) {
    CHECK(e.kind == 'r');
    const auto at = std::find(sent.begin(), sent.end(), e.q) - sent.begin();
    CHECK(e.id == 0x100 + at);  // each reply went to the attempt with its ID
  }
  h.loop.pump([&] { return h.counters.get(Counter::kUpstreamSpoofed) == 1; });
  CHECK(h.counters.get(Counter::kUpstreamSpoofed) == 1);
  CHECK(h.counters.get(Counter::kUpstreamLateReplies) == 0);
}

TEST_CASE("attempts with the same ID in flight never share a socket") {
  FakeUpstream up;
  Harness h(/*reuse=*/16);
  std::map<uint16_t, int> ports;
  for (int i = 0; i < 8; ++i) {
    h.send(up.address(), 0x4242);
    ++ports[up.receive().port()];
  }
  CHECK(ports.size() == 8);
}

TEST_CASE("an ICMP error fails every attempt on its socket, which is then closed") {
  // A port nothing listens on: the kernel answers each datagram with port unreachable,
  // reported on the socket's next receive, or on its next send (which then fails at once).
  SocketAddress dead;
  {
    FakeUpstream gone;
    dead = gone.address();
  }
  Harness h(/*reuse=*/16);
  size_t refused_at_once = 0;
  for (uint16_t i = 0; i < 6; ++i)
    refused_at_once += !h.try_send(dead, uint16_t(0x500 + i), /*timeout_ms=*/500);
  REQUIRE(h.loop.pump([&] { return h.events.events.size() + refused_at_once == 6; }));
  std::map<PendingQuery*, int> per_query;
  for (const auto& e : h.events.events) {
    CHECK(e.kind == 'e');
    ++per_query[e.q];
  }
  CHECK(per_query.size() == h.events.events.size());  // each attempt told once
  REQUIRE(h.loop.pump([&] { return h.transport.open_udp_sockets() == 0; }));
  // Nothing more: no attempt was left to time out (it would, within these 2 s).
  h.loop.pump([] { return false; });
  CHECK(h.events.events.size() + refused_at_once == 6);
  for (const auto& e : h.events.events) CHECK(e.kind == 'e');
}

TEST_CASE("an attempt without a reply times out; close() leaves no handle open") {
  FakeUpstream up;
  Harness h(/*reuse=*/16);
  PendingQuery& q = h.send(up.address(), 0x0101, /*timeout_ms=*/30);
  const auto got = up.receive();
  REQUIRE(h.loop.pump([&] { return h.events.events.size() == 1; }));
  CHECK(h.events.events[0].q == &q);
  CHECK(h.events.events[0].kind == 't');
  // A reply after the timeout finds nothing waiting for it on its (still open) socket.
  CHECK(h.transport.open_udp_sockets() == 1);
  up.reply(got, 0x0101);
  REQUIRE(h.loop.pump([&] { return h.counters.get(Counter::kUpstreamLateReplies) == 1; }));
  CHECK(h.counters.get(Counter::kUpstreamSpoofed) == 0);
  CHECK(h.events.events.size() == 1);
  h.transport.close();
  REQUIRE(h.loop.pump([&] { return h.transport.open_udp_sockets() == 0; }));
}
