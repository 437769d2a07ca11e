// SPDX-License-Identifier: MIT
// Watchdog: feeds the systemd watchdog (WATCHDOG=1) from a timer on the control loop, at
// half of WatchdogSec, but only while every worker loop is alive: each check asks
// HeartbeatMonitor whether every worker's heartbeat moved since the previous check. When
// one did not, the ping is withheld and the stalled workers are logged; if they stay
// stuck, systemd kills and restarts the daemon after WatchdogSec (Restart=on-failure).
// Off (no timer, no worker heartbeats) unless the manager asked for a watchdog.
// Control thread only.
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <vector>

#include "resolver/systemd/heartbeat_monitor.h"
#include "resolver/systemd/systemd_notify.h"
#include "resolver/pipeline/worker.h"

namespace sinkhole::systemd {

class Watchdog {
 public:
  Watchdog(uv_loop_t* loop, SystemdNotify& notify, std::vector<std::unique_ptr<pipeline::Worker>>& workers);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Before the worker threads start: turns on their heartbeats and the check timer when
  // the manager set a watchdog. Returns whether it did.
  bool start();
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
  std::vector<std::unique_ptr<pipeline::Worker>>& workers_;
  HeartbeatMonitor monitor_;
  uv_timer_t timer_{};
  bool started_ = false;
  bool withheld_ = false;  // the last check found a stalled worker
};

}  // namespace sinkhole::systemd
