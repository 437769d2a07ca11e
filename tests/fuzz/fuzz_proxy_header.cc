// SPDX-License-Identifier: MIT
// Fuzz target: the start of a UDP datagram or TCP stream from a trusted proxy, read as a
// PROXY v2 header (resolver/net/proxy_header.h). parse_proxy_header must never read
// outside the buffer (nor past 16 + the length field); an accepted header must be the
// same header when given exactly its own bytes, and one byte fewer must only ever be
// "incomplete" (a TCP stream waits for more, never misjudges a header read in pieces).
#include <cstring>

#include "resolver/net/proxy_header.h"
#include "tests/fuzz/fuzz_support.h"

using sinkhole::net::has_proxy_signature;
using sinkhole::net::kProxyV2FixedSize;
using sinkhole::net::kProxyV2MaxPayload;
using sinkhole::net::parse_proxy_header;
using sinkhole::net::ProxyHeader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ProxyHeader h = parse_proxy_header(data, size);
  using S = ProxyHeader::Status;
  if (h.status == S::kNoSignature) FUZZ_CHECK(!has_proxy_signature(data, size));
  if (has_proxy_signature(data, size)) FUZZ_CHECK(h.status != S::kNoSignature);
  if (!h.ok()) return 0;
  FUZZ_CHECK(h.length >= kProxyV2FixedSize && h.length <= kProxyV2FixedSize + kProxyV2MaxPayload);
  FUZZ_CHECK(h.length <= size);
  if (h.has_addresses()) {
    FUZZ_CHECK(h.source.sin6_family == h.family && h.dest.sin6_family == h.family);
    FUZZ_CHECK(h.family == AF_INET || h.family == AF_INET6);
  }
  const ProxyHeader exact = parse_proxy_header(data, h.length);
  FUZZ_CHECK(exact.ok() && exact.length == h.length && exact.command == h.command &&
             exact.family == h.family && exact.transport == h.transport);
  FUZZ_CHECK(std::memcmp(&exact.source, &h.source, sizeof h.source) == 0);
  FUZZ_CHECK(parse_proxy_header(data, h.length - 1).status == S::kIncomplete);
  return 0;
}
