// SPDX-License-Identifier: MIT
// Test helper: fill a ProtectedUsers with n distinct IPv4 clients, for the protected-users,
// sketch document, sketch merge and fleet-report tests. Test code only.
#pragma once

#include <cstdint>

#include "resolver/metrics/protected_users.h"

namespace sinkhole::test {

// Records the clients 10.0.0.0 + [first, first + n) in `category` at `t` (unix seconds).
inline void record_ipv4_clients(metrics::ProtectedUsers& users, uint16_t category, uint32_t first,
                                uint32_t n, int64_t t) {
  for (uint32_t i = first; i < first + n; ++i) {
    const uint32_t v = 0x0a000000u + i;
    const uint8_t a[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    users.record(category, a, 4, t);
  }
}

}  // namespace sinkhole::test
