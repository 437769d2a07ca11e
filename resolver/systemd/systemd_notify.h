// SPDX-License-Identifier: MIT
// SystemdNotify: tells the service manager what the daemon is doing (sd_notify(3)), so a
// Type=notify unit is "active" only once workers serve, "reloading" while a policy build
// runs, and restarted by the watchdog when a loop hangs. Every call is a no-op when
// NOTIFY_SOCKET is unset (run by hand, in tests, under another supervisor).
// Control thread only: sd_notify is thread-safe, but the order of the messages is the
// protocol, and only the control thread knows it.
//
// Glossary (the protocol's fields, one datagram per call):
//   READY=1        startup finished; also ends a reload
//   RELOADING=1    a reload started; MONOTONIC_USEC= lets newer systemd order it
//   STOPPING=1     shutdown started (SIGTERM/SIGINT)
//   STATUS=text    one line shown by `systemctl status`
//   WATCHDOG=1     "alive"; expected at least every WatchdogSec (WATCHDOG_USEC)
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sinkhole::systemd {

class SystemdNotify {
 public:
  // Reads NOTIFY_SOCKET and the watchdog settings (WATCHDOG_USEC, WATCHDOG_PID) once.
  SystemdNotify();

  bool enabled() const { return enabled_; }
  void ready(std::string_view status);
  void reloading();
  void reloaded(std::string_view status);
  void stopping();
  void status(std::string_view text);

  // WatchdogSec as the manager passed it; zero when the watchdog is off (or meant for
  // another process). Ping at half of it: a ping late by a scheduling hiccup still counts.
  std::chrono::microseconds watchdog_timeout() const { return watchdog_; }
  std::chrono::microseconds watchdog_ping_interval() const { return watchdog_ / 2; }
  void watchdog_ping();

 private:
  void send(const std::string& message);

  bool enabled_ = false;
  std::chrono::microseconds watchdog_{0};
};

}  // namespace sinkhole::systemd
