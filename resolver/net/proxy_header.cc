// SPDX-License-Identifier: MIT
#include "resolver/net/proxy_header.h"

#include <algorithm>
#include <cstring>

namespace sinkhole::net {

namespace {

constexpr size_t kInetBlock = 4 + 4 + 2 + 2;
constexpr size_t kInet6Block = 16 + 16 + 2 + 2;
constexpr size_t kUnixBlock = 108 + 108;

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

ProxyHeader fail(ProxyHeader::Status s) {
  ProxyHeader h;
  h.status = s;
  return h;
}

// Ports are copied in network order, as sockaddr wants them.
void set_v4(sockaddr_in6& out, const uint8_t* addr, const uint8_t* port) {
  auto* sin = reinterpret_cast<sockaddr_in*>(&out);
  sin->sin_family = AF_INET;
  std::memcpy(&sin->sin_addr, addr, 4);
  std::memcpy(&sin->sin_port, port, 2);
}

void set_v6(sockaddr_in6& out, const uint8_t* addr, const uint8_t* port) {
  out.sin6_family = AF_INET6;
  std::memcpy(&out.sin6_addr, addr, 16);
  std::memcpy(&out.sin6_port, port, 2);
}

}  // namespace

bool has_proxy_signature(const uint8_t* data, size_t len) noexcept {
  return len >= sizeof kProxyV2Signature &&
         std::memcmp(data, kProxyV2Signature, sizeof kProxyV2Signature) == 0;
}

ProxyHeader parse_proxy_header(const uint8_t* data, size_t len, size_t max_payload) noexcept {
  using S = ProxyHeader::Status;
  // A prefix of the signature may still become one (a TCP stream read in pieces).
  const size_t sig = std::min(len, sizeof kProxyV2Signature);
  if (std::memcmp(data, kProxyV2Signature, sig) != 0) return fail(S::kNoSignature);
  if (len < kProxyV2FixedSize) return fail(S::kIncomplete);

  ProxyHeader h;
  const uint8_t ver_cmd = data[12];
  if ((ver_cmd >> 4) != 2) return fail(S::kUnsupported);
  // "Receivers must drop connections presenting unexpected values here" (spec 2.2).
  if ((ver_cmd & 0x0F) > 1) return fail(S::kMalformed);
  h.command = (ver_cmd & 0x0F) == 1 ? ProxyHeader::Command::kProxy : ProxyHeader::Command::kLocal;

  const uint8_t fam = data[13] >> 4;
  h.transport = data[13] & 0x0F;
  if (fam > 3 || h.transport > 2) return fail(S::kUnsupported);
  static constexpr uint8_t kFamilies[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX};
  h.family = kFamilies[fam];

  const size_t payload = be16(data + 14);
  if (payload > max_payload) return fail(S::kMalformed);
  if (len < kProxyV2FixedSize + payload) return fail(S::kIncomplete);
  const uint8_t* p = data + kProxyV2FixedSize;
  const uint8_t* const end = p + payload;

  // A LOCAL header's addresses are to be ignored (spec 2.2), but their block is still
  // sized by the family, so the TLVs after it are found the same way.
  size_t block = 0;
  if (h.family == AF_INET)
    block = kInetBlock;
  else if (h.family == AF_INET6)
    block = kInet6Block;
  else if (h.family == AF_UNIX)
    block = kUnixBlock;
  if (payload < block) return fail(S::kMalformed);
  if (h.command == ProxyHeader::Command::kProxy) {
    if (h.family == AF_INET) {
      set_v4(h.source, p, p + 8);
      set_v4(h.dest, p + 4, p + 10);
    } else if (h.family == AF_INET6) {
      set_v6(h.source, p, p + 32);
      set_v6(h.dest, p + 16, p + 34);
    }
  }
  p += block;
  // TLVs: not used, but each must lie inside the header, or the header is not one.
  while (p < end) {
    if (end - p < 3) return fail(S::kMalformed);
    const size_t tlv = be16(p + 1);
    if (static_cast<size_t>(end - p - 3) < tlv) return fail(S::kMalformed);
    p += 3 + tlv;
  }
  h.length = kProxyV2FixedSize + payload;
  h.status = S::kOk;
  return h;
}

}  // namespace sinkhole::net
