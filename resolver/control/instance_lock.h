// SPDX-License-Identifier: MIT
// One sinkholed per address: before main() binds anything it takes a lock file in the
// runtime directory (server.runtime_dir, /run/sinkholed: systemd's RuntimeDirectory) for
// every listen address and for the control socket, with flock(LOCK_EX|LOCK_NB), and writes
// its PID into each. A second sinkholed configured for an address the first one serves
// fails there, naming the address and the PID, instead of sharing the port through
// SO_REUSEPORT (the kernel would hash part of the clients to it). flock locks die with
// the process, so a crash never leaves a stale lock; the files themselves stay (removing
// them would race with a starting instance) and go with the directory at `systemctl stop`.
//
// Overlap: 0.0.0.0:53 also receives what is sent to 127.0.0.1:53. Each port has a
// per-family file too: a wildcard address takes it exclusively, a specific one shared,
// so wildcard against anything on the same port conflicts, two different specific
// addresses do not. Address families do not overlap (IPV6_V6ONLY is set on every socket).
//
// Instances with different runtime directories do not see each other's locks; the bind
// probe (probe_unused) catches those, and any other program on the port, without a PID.
// Main thread, at start-up.
#pragma once

#include <string>
#include <vector>

#include "resolver/config/socket_address.h"

namespace sinkhole::control {

struct LockSpec {
  std::string file;       // a name inside the runtime directory
  bool exclusive = true;  // else shared
  std::string what;       // for messages: "127.0.0.1:53", "control socket /run/x.sock"
  int family = 0;         // listen locks: AF_INET/AF_INET6 (0: the control socket)
  int port = -1;          // listen locks: the port
};

// "listen-127.0.0.1-53.lock", "listen-::1-53.lock" (udp and tcp alike).
std::string listen_lock_name(const config::SocketAddress& addr);
// "port-inet-53.lock" / "port-inet6-53.lock".
std::string port_lock_name(int family, int port);
// "control-run-sinkholed-control.sock.lock": the path with '/' as '-'.
std::string control_lock_name(const std::string& socket_path);
// Every lock a config needs, without duplicates: per address its own file (exclusive)
// and its port's file (exclusive for a wildcard address, shared otherwise; only the
// exclusive one when the same config also listens on that port's wildcard), then the
// control socket's file when `control_socket` is not empty.
std::vector<LockSpec> lock_plan(const std::vector<config::SocketAddress>& listen,
                                const std::string& control_socket);

// Creates `dir` (one level, mode 0750) when it does not exist; never its parents.
bool ensure_runtime_dir(const std::string& dir, std::string* error);

// Holds the locks until destroyed (or until the process ends).
class InstanceLocks {
 public:
  InstanceLocks() = default;
  ~InstanceLocks() { release(); }
  InstanceLocks(const InstanceLocks&) = delete;
  InstanceLocks& operator=(const InstanceLocks&) = delete;

  // Takes every lock of `plan` in `dir`; on the first one held elsewhere, releases what it
  // took and sets `error` ("127.0.0.1:53 is already served by sinkholed pid 1234 (lock
  // /run/sinkholed/listen-127.0.0.1-53.lock)").
  bool acquire(const std::string& dir, const std::vector<LockSpec>& plan, std::string* error);
  void release();

 private:
  std::string describe_conflict(const std::string& dir, const LockSpec& s,
                                const std::vector<LockSpec>& plan) const;
  std::vector<int> fds_;
};

// Whether nothing else is bound on `addr` for UDP and TCP: a bind without SO_REUSEPORT
// (and, for UDP, without SO_REUSEADDR) fails with EADDRINUSE when any socket — wildcard or
// specific — holds the port. False with `error` naming the address and protocol.
bool probe_unused(const config::SocketAddress& addr, std::string* error);

}  // namespace sinkhole::control
