// SPDX-License-Identifier: MIT
// LimitLog: at most one warning line per interval for each in-flight limit (worker, zone,
// upstream), so that a flood that hits a limit 20,000 times a second writes one line every
// ten seconds, saying how many it did not write. One per owner (the pipeline, the pool);
// worker thread only.
#pragma once

#include <array>
#include <cstdint>

namespace sinkhole::upstream {

enum class LimitReason : uint8_t { kWorker, kZone, kUpstream };

class LimitLog {
 public:
  static constexpr uint64_t kDefaultIntervalMs = 10'000;
  explicit LimitLog(uint64_t interval_ms = kDefaultIntervalMs) : interval_ms_(interval_ms) {}

  // Notes one hit of `r` at `now_ms`. True when a line is due now; then `skipped` is the
  // number of hits since the last line that were not logged.
  bool due(LimitReason r, uint64_t now_ms, uint64_t& skipped) noexcept {
    State& s = states_[static_cast<size_t>(r)];
    if (s.logged && now_ms < s.next_ms) {
      ++s.skipped;
      return false;
    }
    skipped = s.skipped;
    s = {true, now_ms + interval_ms_, 0};
    return true;
  }

 private:
  struct State {
    bool logged = false;
    uint64_t next_ms = 0;
    uint64_t skipped = 0;
  };
  uint64_t interval_ms_;
  std::array<State, 3> states_{};
};

}  // namespace sinkhole::upstream
