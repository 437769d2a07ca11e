// SPDX-License-Identifier: MIT
#include "resolver/systemd/watchdog.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace sinkhole::systemd {

Watchdog::Watchdog(uv_loop_t* loop, SystemdNotify& notify, Beats beats)
    : loop_(loop), notify_(notify), beats_(std::move(beats)) {}

std::chrono::milliseconds Watchdog::heartbeat_period(std::chrono::milliseconds check) {
  return std::clamp(check / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(250));
}

std::optional<std::chrono::milliseconds> Watchdog::start() {
  const auto check_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(notify_.watchdog_ping_interval());
  if (check_ms.count() <= 0) return std::nullopt;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  const auto ms = static_cast<uint64_t>(check_ms.count());
  uv_timer_start(&timer_, on_check, ms, ms);
  started_ = true;
  spdlog::info("watchdog: pinging systemd every {} ms while all {} worker(s) are alive", ms,
               beats_().size());
  return heartbeat_period(check_ms);
}

void Watchdog::close() {
  if (!started_) return;
  started_ = false;
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void Watchdog::on_check(uv_timer_t* t) {
  static_cast<Watchdog*>(t->data)->check();
}

void Watchdog::check() {
  const std::vector<uint64_t> beats = beats_();
  const auto stalled = monitor_.stalled(beats);
  if (stalled.empty()) {
    if (withheld_) spdlog::warn("watchdog: every worker is alive again; pinging systemd");
    withheld_ = false;
    notify_.watchdog_ping();
    return;
  }
  withheld_ = true;
  spdlog::error(
      "watchdog: worker(s) {} made no progress for {} ms; withholding the ping "
      "(systemd restarts the daemon when {} ms pass without one)",
      fmt::join(stalled, ", "),
      std::chrono::duration_cast<std::chrono::milliseconds>(notify_.watchdog_ping_interval())
          .count(),
      std::chrono::duration_cast<std::chrono::milliseconds>(notify_.watchdog_timeout()).count());
}

}  // namespace sinkhole::systemd
