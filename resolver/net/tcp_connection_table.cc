// SPDX-License-Identifier: MIT
#include "resolver/net/tcp_connection_table.h"

#include <netinet/in.h>

#include <cstring>
#include <string_view>

#include "resolver/net/tcp_listener.h"

namespace sinkhole::net {

using metrics::Counter;

ClientKey ClientKey::of(const sockaddr* sa) {
  ClientKey k;
  k.family = static_cast<uint8_t>(sa->sa_family);
  if (sa->sa_family == AF_INET)
    std::memcpy(k.addr.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  else if (sa->sa_family == AF_INET6)
    std::memcpy(k.addr.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  return k;
}

size_t ClientKeyHash::operator()(const ClientKey& k) const noexcept {
  return std::hash<std::string_view>{}(
             std::string_view(reinterpret_cast<const char*>(k.addr.data()), k.addr.size())) ^
         k.family;
}

unsigned ClientCounts::count(const ClientKey& k) const {
  const auto it = counts_.find(k);
  return it == counts_.end() ? 0 : it->second;
}

void ClientCounts::remove(const ClientKey& k) {
  const auto it = counts_.find(k);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

bool TcpConnectionTable::admit(TcpConnection* c, const ClientKey& peer, bool per_client_limit) {
  if (per_client_limit && per_client_.count(peer) >= limits_.max_connections_per_client) {
    counters_.inc(Counter::kTcpRejectedClientLimit);
    return false;
  }
  if (open_ >= limits_.max_connections && !evict_idlest()) {
    counters_.inc(Counter::kTcpRejectedLimit);
    return false;
  }
  c->key_ = peer;
  c->in_table_ = true;
  per_client_.add(peer);
  link_back(c);
  ++open_;
  return true;
}

bool TcpConnectionTable::evict_idlest() {
  TcpConnection* c = head_;
  for (int i = 0; c && i < kEvictScan; ++i, c = c->newer_) {
    if (c->refs_ == 0) {  // nothing in flight, nothing to write: only a slot is lost
      c->close(Counter::kTcpClosedEvicted);
      return true;
    }
  }
  return false;
}

void TcpConnectionTable::touch(TcpConnection* c) {
  if (!c->in_table_ || c == tail_) return;
  unlink(c);
  link_back(c);
}

void TcpConnectionTable::remove(TcpConnection* c) {
  if (!c->in_table_) return;
  c->in_table_ = false;
  unlink(c);
  per_client_.remove(c->key_);
  --open_;
}

void TcpConnectionTable::unlink(TcpConnection* c) {
  (c->older_ ? c->older_->newer_ : head_) = c->newer_;
  (c->newer_ ? c->newer_->older_ : tail_) = c->older_;
  c->older_ = c->newer_ = nullptr;
}

void TcpConnectionTable::link_back(TcpConnection* c) {
  c->older_ = tail_;
  c->newer_ = nullptr;
  (tail_ ? tail_->newer_ : head_) = c;
  tail_ = c;
}

std::vector<TcpConnection*> TcpConnectionTable::all() const {
  std::vector<TcpConnection*> out;
  out.reserve(open_);
  for (TcpConnection* c = head_; c; c = c->newer_) out.push_back(c);
  return out;
}

void TcpConnectionTable::drain_all() {
  for (auto* c : all()) c->drain();  // drain() may close, and so unlink, the connection
}

void TcpConnectionTable::close_all() {
  for (auto* c : all()) c->close();
}

}  // namespace sinkhole::net
