// SPDX-License-Identifier: MIT
// RandomSource: unpredictable 16-bit query IDs for one worker. Bytes come from the kernel
// CSPRNG (getrandom) in 4 KiB batches, so an ID costs a load, not a syscall.
#pragma once

#include <sys/random.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sinkhole::upstream {

class RandomSource {
 public:
  uint16_t next_u16() noexcept {
    if (pos_ + 2 > sizeof buf_) refill();
    uint16_t v;
    std::memcpy(&v, buf_ + pos_, 2);
    pos_ += 2;
    return v;
  }

 private:
  void refill() noexcept {
    size_t got = 0;
    while (got < sizeof buf_) {
      const ssize_t n = getrandom(buf_ + got, sizeof buf_ - got, 0);
      if (n > 0) got += static_cast<size_t>(n);
    }
    pos_ = 0;
  }
  uint8_t buf_[4096];
  size_t pos_ = sizeof buf_;
};

}  // namespace sinkhole::upstream
