// SPDX-License-Identifier: MIT
#include "resolver/systemd/watchdog.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace sinkhole::systemd {

Watchdog::Watchdog(uv_loop_t* loop, SystemdNotify& notify,
                   std::vector<std::unique_ptr<pipeline::Worker>>& workers)
    : loop_(loop), notify_(notify), workers_(workers) {}

std::chrono::milliseconds Watchdog::heartbeat_period(std::chrono::milliseconds check) {
  return std::clamp(check / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(250));
}

bool Watchdog::start() {
  const auto check_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(notify_.watchdog_ping_interval());
  if (check_ms.count() <= 0) return false;
  for (auto& w : workers_) w->enable_heartbeat(heartbeat_period(check_ms));
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  const auto ms = static_cast<uint64_t>(check_ms.count());
  uv_timer_start(&timer_, on_check, ms, ms);
  started_ = true;
  spdlog::info("watchdog: pinging systemd every {} ms while all {} worker(s) are alive", ms,
               workers_.size());
  return true;
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
  std::vector<uint64_t> beats;
  beats.reserve(workers_.size());
  for (const auto& w : workers_) beats.push_back(w->heartbeat());
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
