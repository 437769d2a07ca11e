// SPDX-License-Identifier: MIT
// The PROXY protocol version 2 header (HAProxy's "PROXY protocol" spec, section 2.2): a
// load balancer in front of sinkholed (dnsdist `useProxyProtocol`) puts it before each
// UDP datagram and at the start of each TCP connection to say whose query it carries.
// Only the binary version 2 is read; the text version 1 is not a DNS proxy's format.
//
//   12 bytes  signature \r\n\r\n\0\r\nQUIT\n
//   1 byte    version (high nibble, must be 2) | command (low nibble: 0 LOCAL, 1 PROXY)
//   1 byte    address family (high: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX) | transport
//             (low: 0 UNSPEC, 1 STREAM, 2 DGRAM)
//   2 bytes   length of what follows (addresses, then TLVs), big-endian
//   addresses INET: src 4, dst 4, src port 2, dst port 2; INET6: 16, 16, 2, 2; UNIX: 108, 108
//   TLVs      type 1, length 2, value: checked to lie inside the header, then skipped
//
// Pure, noexcept, allocation-free: the pipeline calls it per UDP datagram from a trusted
// proxy, and the fuzz target tests/fuzz/fuzz_proxy_header.cc feeds it anything. Any
// thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace sinkhole::net {

inline constexpr uint8_t kProxyV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
inline constexpr size_t kProxyV2FixedSize = 16;
// The largest length field accepted: the UNIX addresses (216 bytes) plus room for the TLVs
// a DNS proxy sends. A query datagram is at most 4 KiB; anything near that in a header is
// not a proxy talking.
inline constexpr size_t kProxyV2MaxPayload = 512;

struct ProxyHeader {
  enum class Status : uint8_t {
    kOk,
    kNoSignature,  // the bytes do not begin with the signature (a plain DNS message)
    kIncomplete,   // a prefix of a header that may still be valid: more bytes are needed
    kMalformed,    // the signature, then something the spec forbids
    kUnsupported,  // a version other than 2, an unknown family or transport
  };
  enum class Command : uint8_t { kLocal, kProxy };
  Status status = Status::kNoSignature;
  Command command = Command::kLocal;
  // AF_UNSPEC, AF_INET, AF_INET6 or AF_UNIX (the family byte's high nibble, translated).
  uint8_t family = AF_UNSPEC;
  // 0 UNSPEC, 1 STREAM, 2 DGRAM.
  uint8_t transport = 0;
  // Bytes the header takes (16 + its length field), when status is kOk.
  size_t length = 0;
  // The client (source) and the proxy's destination, with ports, when `has_addresses()`.
  sockaddr_in6 source{};
  sockaddr_in6 dest{};

  bool ok() const { return status == Status::kOk; }
  // A PROXY command with IPv4 or IPv6 addresses: `source` is the client. LOCAL (a health
  // check of the proxy's own), UNSPEC and UNIX carry no client address to use.
  bool has_addresses() const {
    return ok() && command == Command::kProxy && (family == AF_INET || family == AF_INET6);
  }
  const sockaddr* source_sa() const { return reinterpret_cast<const sockaddr*>(&source); }
};

// Reads the header at the start of `data` (`len` bytes available). `max_payload` bounds
// the length field; a larger one is kMalformed without waiting for its bytes.
ProxyHeader parse_proxy_header(const uint8_t* data, size_t len,
                               size_t max_payload = kProxyV2MaxPayload) noexcept;

// Whether `data` begins with the whole signature (the quick test for a header from a
// source that is not trusted to send one).
bool has_proxy_signature(const uint8_t* data, size_t len) noexcept;

}  // namespace sinkhole::net
