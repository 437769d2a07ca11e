// SPDX-License-Identifier: MIT
// Watchdog: feeds the systemd watchdog (WATCHDOG=1) from a timer on the control loop, at
// half of WatchdogSec, but only while every worker loop is alive: each check reads the
// workers' heartbeat counters and asks HeartbeatMonitor whether every one moved since the
// previous check. When one did not, the ping is withheld and the stalled workers are
// logged; if they stay stuck, systemd kills and restarts the daemon after WatchdogSec
// (Restart=on-failure). Off (no timer, no worker heartbeats) unless the manager asked for
// a watchdog.
// It knows nothing of workers but their counters (a function returning them, in worker
// order), so systemd/ does not depend on the pipeline. Control thread only.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "resolver/systemd/heartbeat_monitor.h"
#include "resolver/systemd/systemd_notify.h"

namespace sinkhole::systemd {

class Watchdog {
 public:
  // `beats`: every worker's heartbeat counter, in worker order; called on each check.
  using Beats = std::function<std::vector<uint64_t>()>;

  Watchdog(uv_loop_t* loop, SystemdNotify& notify, Beats beats);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Before the worker threads start: when the manager set a watchdog, starts the check
  // timer and returns the period at which workers must beat (the caller turns their
  // heartbeats on); nullopt, and nothing started, otherwise.
  std::optional<std::chrono::milliseconds> start();
  // Shutting down (systemd stops watching after STOPPING=1): stop and close the timer.
  void close();

  // Workers beat four times per check, so a scheduling delay of one beat never looks like
  // a hang; at most every 250 ms, which costs nothing next to the query load.
  static std::chrono::milliseconds heartbeat_period(std::chrono::milliseconds check);

 private:
  static void on_check(uv_timer_t* t);
  void check();

  uv_loop_t* loop_;
  SystemdNotify& notify_;
  Beats beats_;
  HeartbeatMonitor monitor_;
  uv_timer_t timer_{};
  bool started_ = false;
  bool withheld_ = false;  // the last check found a stalled worker
};

}  // namespace sinkhole::systemd
