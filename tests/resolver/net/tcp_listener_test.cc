// SPDX-License-Identifier: MIT
// TcpListener on a real loopback socket and a real libuv loop: accepts come in bounded
// batches, so that the queries of connections just accepted are read before an accept
// storm at the connection limit could evict them.
#include "resolver/net/tcp_listener.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "resolver/metrics/worker_counters.h"

namespace {

using sinkhole::metrics::Counter;
using sinkhole::metrics::WorkerCounters;
using sinkhole::net::ClientEndpoint;
using sinkhole::net::QuerySink;
using sinkhole::net::TcpConnectionTable;
using sinkhole::net::TcpLimits;
using sinkhole::net::TcpListener;

struct CountingSink : QuerySink {
  unsigned queries = 0;
  void on_query(const uint8_t*, size_t, const ClientEndpoint&) override { ++queries; }
};

// A bound, not yet listening, loopback TCP socket; its port in `port`.
int bound_socket(uint16_t& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  port = ntohs(a.sin_port);
  return fd;
}

// A client that connected (the kernel's backlog holds it until accepted) and sent a
// whole query frame: a 12-byte header with QDCOUNT 0 is enough for the listener.
int client_with_query(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const uint8_t frame[14] = {0, 12, 0x12, 0x34, 0x01, 0x00};
  REQUIRE(send(fd, frame, sizeof frame, 0) == static_cast<ssize_t>(sizeof frame));
  return fd;
}

void raise_fd_limit() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}

}  // namespace

TEST_CASE("a backlog of connections at the limit: every query is read before any eviction") {
  raise_fd_limit();
  uv_loop_t loop;
  uv_loop_init(&loop);
  WorkerCounters counters;
  TcpLimits limits;
  limits.max_connections = 256;
  limits.max_connections_per_client = 10'000;  // every client is 127.0.0.1
  TcpConnectionTable table(limits, counters);
  CountingSink sink;
  uint16_t port = 0;
  const int lfd = bound_socket(port);
  auto listener = std::make_unique<TcpListener>(&loop, lfd, sink, table);
  REQUIRE(listener->start());

  // Two and a half times the limit, every query already waiting in its socket. Accepting
  // the whole backlog in one round would evict 384 connections before reading any.
  constexpr unsigned kClients = 640;
  std::vector<int> clients;
  for (unsigned i = 0; i < kClients; ++i) clients.push_back(client_with_query(port));

  // The first round takes one batch, not the backlog.
  uv_run(&loop, UV_RUN_ONCE);
  CHECK(table.size() > 0);
  CHECK(table.size() <= TcpListener::kAcceptBatch + 1);  // + the one taken at round end

  for (int round = 0; round < 1000 && sink.queries < kClients; ++round)
    uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(sink.queries == kClients);
  CHECK(counters.get(Counter::kTcpConnections) == kClients);
  CHECK(counters.get(Counter::kTcpClosedEvicted) >= kClients - limits.max_connections);
  CHECK(table.size() <= limits.max_connections);

  listener->close();
  table.close_all();
  for (int fd : clients) ::close(fd);
  uv_run(&loop, UV_RUN_DEFAULT);
  listener.reset();
  CHECK(uv_loop_close(&loop) == 0);
}
