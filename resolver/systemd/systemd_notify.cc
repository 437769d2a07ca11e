// SPDX-License-Identifier: MIT
#include "resolver/systemd/systemd_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace sinkhole::systemd {

namespace {

// STATUS= ends at the first newline (the next line would be parsed as another field).
std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& ch : out)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return out;
}

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

SystemdNotify::SystemdNotify() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  if (!enabled_) return;
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, names this process.
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
}

void SystemdNotify::send(const std::string& message) {
  if (!enabled_) return;
  const int r = sd_notify(0, message.c_str());
  // Not fatal: the manager may be gone (e.g. re-executing); it re-reads our state later.
  if (r < 0) spdlog::warn("systemd notify failed: {}", std::strerror(-r));
}

void SystemdNotify::ready(std::string_view status) {
  send("READY=1\nSTATUS=" + one_line(status));
}

void SystemdNotify::reloading() {
  // systemd >= 253 (Type=notify-reload) needs the timestamp to match the reload it asked
  // for; older managers ignore the field.
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
}

void SystemdNotify::reloaded(std::string_view status) {
  send("READY=1\nSTATUS=" + one_line(status));
}

void SystemdNotify::stopping() {
  send("STOPPING=1\nSTATUS=stopping: answering queries in flight");
}

void SystemdNotify::status(std::string_view text) {
  send("STATUS=" + one_line(text));
}

void SystemdNotify::watchdog_ping() {
  if (watchdog_.count() > 0) send("WATCHDOG=1");
}

}  // namespace sinkhole::systemd
