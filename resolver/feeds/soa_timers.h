// SPDX-License-Identifier: MIT
// The SOA timers of an RPZ secondary (RFC 1034 §4.3.5, RFC 1982 serial arithmetic): when to
// ask the primary again after a success or a failure, and when the copy has expired. Clamped
// so a hostile or mistaken SOA can neither make us poll in a loop nor wait for years. Pure;
// any thread.
#pragma once

#include <algorithm>
#include <cstdint>

namespace sinkhole::feeds {

struct SoaTimers {
  uint32_t refresh = 3600;  // seconds
  uint32_t retry = 600;
  uint32_t expire = 604800;
};

inline constexpr uint32_t kMinTimerSeconds = 1;
inline constexpr uint32_t kMaxTimerSeconds = 7 * 24 * 3600;

inline uint64_t clamp_seconds_to_ms(uint32_t s) {
  return uint64_t{std::clamp(s, kMinTimerSeconds, kMaxTimerSeconds)} * 1000;
}

// After a refresh that reached the primary (new copy or up to date).
inline uint64_t refresh_delay_ms(const SoaTimers& t) {
  return clamp_seconds_to_ms(t.refresh);
}
// After a failed refresh: the retry, never later than the refresh would have been.
inline uint64_t retry_delay_ms(const SoaTimers& t) {
  return std::min(clamp_seconds_to_ms(t.retry), clamp_seconds_to_ms(t.refresh));
}
// The expire interval; at least the refresh (an expire shorter than the refresh would expire
// a copy before the first chance to refresh it).
inline uint64_t expire_ms(const SoaTimers& t) {
  return std::max(uint64_t{t.expire} * 1000, clamp_seconds_to_ms(t.refresh));
}
// Whether a copy last confirmed with its primary at `last_ok_ms` has expired at `now_ms`.
inline bool soa_expired(const SoaTimers& t, int64_t last_ok_ms, int64_t now_ms) {
  return now_ms - last_ok_ms >= static_cast<int64_t>(expire_ms(t));
}

// RFC 1982: serial a is newer than b.
inline bool serial_newer(uint32_t a, uint32_t b) {
  return a != b && static_cast<uint32_t>(a - b) < 0x80000000u;
}

}  // namespace sinkhole::feeds
