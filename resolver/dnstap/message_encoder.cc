// SPDX-License-Identifier: MIT
#include "resolver/dnstap/message_encoder.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctime>

namespace sinkhole::dnstap {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;

// protobuf-c takes non-const pointers for bytes fields; it only reads them when packing.
ProtobufCBinaryData bytes(const void* data, size_t len) {
  return {len, static_cast<uint8_t*>(const_cast<void*>(data))};
}

// The address bytes and port of `sa` (network order in the sockaddr, host order out).
void address_of(const sockaddr* sa, ProtobufCBinaryData& addr, uint32_t& port) {
  if (sa->sa_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    addr = bytes(&s6->sin6_addr, sizeof s6->sin6_addr);
    port = ntohs(s6->sin6_port);
  } else {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(sa);
    addr = bytes(&s4->sin_addr, sizeof s4->sin_addr);
    port = ntohs(s4->sin_port);
  }
}

}  // namespace

uint64_t wall_clock_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);  // vDSO: no system call
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSecond + static_cast<uint64_t>(ts.tv_nsec);
}

MessageEncoder::MessageEncoder(const std::string& identity, const std::string& version) {
  dnstap__dnstap__init(&top_);
  dnstap__message__init(&message_);
  top_.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
  top_.message = &message_;
  if (!identity.empty()) {
    top_.has_identity = true;
    top_.identity = bytes(identity.data(), identity.size());
  }
  if (!version.empty()) {
    top_.has_version = true;
    top_.version = bytes(version.data(), version.size());
  }
  message_.has_socket_family = true;
  message_.has_socket_protocol = true;
  message_.has_query_time_sec = true;
  message_.has_query_time_nsec = true;
  message_.has_query_address = true;
  message_.has_query_port = true;
}

void MessageEncoder::set_peer(const Peer& peer) noexcept {
  message_.socket_family = peer.client->sa_family == AF_INET6 ? DNSTAP__SOCKET_FAMILY__INET6
                                                              : DNSTAP__SOCKET_FAMILY__INET;
  message_.socket_protocol = peer.tcp ? DNSTAP__SOCKET_PROTOCOL__TCP : DNSTAP__SOCKET_PROTOCOL__UDP;
  address_of(peer.client, message_.query_address, message_.query_port);
  // Our address is unknown on a wildcard UDP socket (it would need IP_PKTINFO per packet).
  // Behind a PROXY v2 balancer the client may be of the other family than our socket: one
  // socket_family describes both addresses, so ours is left out then.
  const bool ours = peer.server != nullptr && peer.server->sa_family == peer.client->sa_family;
  message_.has_response_address = message_.has_response_port = ours;
  if (ours) address_of(peer.server, message_.response_address, message_.response_port);
  message_.query_time_sec = peer.query_ns / kNsPerSecond;
  message_.query_time_nsec = static_cast<uint32_t>(peer.query_ns % kNsPerSecond);
}

size_t MessageEncoder::prepare_query(const Peer& peer, const uint8_t* msg, size_t len) noexcept {
  set_peer(peer);
  message_.type = DNSTAP__MESSAGE__TYPE__CLIENT_QUERY;
  message_.has_query_message = true;
  message_.query_message = bytes(msg, len);
  message_.has_response_message = false;
  message_.has_response_time_sec = message_.has_response_time_nsec = false;
  return dnstap__dnstap__get_packed_size(&top_);
}

size_t MessageEncoder::prepare_response(const Peer& peer, uint64_t response_ns, const uint8_t* msg,
                                        size_t len) noexcept {
  set_peer(peer);
  message_.type = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
  message_.has_query_message = false;
  message_.has_response_message = true;
  message_.response_message = bytes(msg, len);
  message_.has_response_time_sec = message_.has_response_time_nsec = true;
  message_.response_time_sec = response_ns / kNsPerSecond;
  message_.response_time_nsec = static_cast<uint32_t>(response_ns % kNsPerSecond);
  return dnstap__dnstap__get_packed_size(&top_);
}

size_t MessageEncoder::pack(uint8_t* out) const noexcept {
  return dnstap__dnstap__pack(&top_, out);
}

}  // namespace sinkhole::dnstap
