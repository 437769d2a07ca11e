// SPDX-License-Identifier: MIT
// The TCP client connections of one worker, shared by its listeners (one per listen
// address): the limits they all obey, how many are open in total and per client address,
// and which has gone longest without a complete query. At the total limit a new client
// does not wait for a slot: the idlest connection with nothing pending is closed to make
// room (Knot DNS does the same), so a flood of slow or idle connections cannot lock
// fresh clients out; the per-address limit keeps one address from taking every slot.
//
// Layout: an intrusive doubly linked list through the connections, idlest first (a
// complete query moves a connection to the back: a few pointer writes, no allocation),
// and a hash map address → open connections, touched only at accept and close (never per
// query); it holds one entry per address with a connection open, so it is bounded by the
// connection limit. Worker thread only.
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "resolver/metrics/worker_counters.h"

namespace sinkhole::net {

class TcpConnection;

// Every bound a TCP client connection is held to (config: server.tcp_*).
struct TcpLimits {
  std::chrono::milliseconds idle_timeout{10'000};   // no complete query, nothing pending
  std::chrono::milliseconds query_timeout{5'000};   // first byte of a frame → whole frame
  std::chrono::milliseconds write_timeout{10'000};  // queued answers without progress
  size_t max_queued_bytes = size_t{256} << 10;      // answer bytes waiting in user space
  size_t max_query_size = 4096;                     // a longer length prefix closes
  unsigned max_connections = 1000;                  // per worker
  unsigned max_connections_per_client = 64;         // per worker and client address
};

// A client address without its port: the per-client limit's key.
struct ClientKey {
  std::array<uint8_t, 16> addr{};
  uint8_t family = 0;
  static ClientKey of(const sockaddr* sa);
  bool operator==(const ClientKey&) const = default;
};
struct ClientKeyHash {
  size_t operator()(const ClientKey& k) const noexcept;
};

// Connections open per client address.
class ClientCounts {
 public:
  unsigned count(const ClientKey& k) const;
  void add(const ClientKey& k) { ++counts_[k]; }
  void remove(const ClientKey& k);
  size_t addresses() const { return counts_.size(); }

 private:
  std::unordered_map<ClientKey, unsigned, ClientKeyHash> counts_;
};

class TcpConnectionTable {
 public:
  TcpConnectionTable(const TcpLimits& limits, metrics::WorkerCounters& counters)
      : limits_(limits), counters_(counters) {}
  TcpConnectionTable(const TcpConnectionTable&) = delete;
  TcpConnectionTable& operator=(const TcpConnectionTable&) = delete;

  const TcpLimits& limits() const { return limits_; }
  metrics::WorkerCounters& counters() { return counters_; }

  // Takes `c` (accepted, peer address known) into the table, or counts why not and
  // returns false (the caller closes it). At the total limit, closes the idlest
  // connection with nothing pending to make room; refuses only when none is found.
  // `per_client_limit` false: a trusted proxy, which carries many clients.
  bool admit(TcpConnection* c, const ClientKey& peer, bool per_client_limit = true);
  // A complete query arrived on `c`: it goes to the back of the idle order.
  void touch(TcpConnection* c);
  // `c` is closing; a no-op for a connection never admitted.
  void remove(TcpConnection* c);
  size_t size() const { return open_; }
  // Shutdown: every connection finishes what it has (drain), or is closed now.
  void drain_all();
  void close_all();

 private:
  // How far from the idle end to look for a connection with nothing pending: enough to
  // step over a few busy ones, never a walk over thousands on one accept.
  static constexpr int kEvictScan = 32;
  bool evict_idlest();
  std::vector<TcpConnection*> all() const;
  void unlink(TcpConnection* c);
  void link_back(TcpConnection* c);

  TcpLimits limits_;
  metrics::WorkerCounters& counters_;
  TcpConnection* head_ = nullptr;  // idlest
  TcpConnection* tail_ = nullptr;  // most recent complete query
  size_t open_ = 0;
  ClientCounts per_client_;
};

}  // namespace sinkhole::net
