// SPDX-License-Identifier: MIT
// CtlClient: sinkholectl's side of the control socket (control_socket.h) — connect, send
// one request line, read the reply until the server closes, all within one deadline.
// Every wait is a poll() with the time left, so a stopped daemon (no socket, or a socket
// file nobody listens on), a full listen backlog and a server that accepts but never
// answers all end in a timeout instead of a hang. sinkholectl's main thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sinkhole::control {

struct AskResult {
  enum class Outcome : uint8_t {
    kReply,        // `reply` holds what the server sent before closing
    kUnreachable,  // no server on the socket (`error`: why, e.g. "No such file or directory")
    kTimeout,      // no complete reply within the timeout (`error` says which step waited)
  };
  Outcome outcome = Outcome::kUnreachable;
  std::string reply;
  std::string error;
};

// Sends `request` (a line end is added) to the Unix socket at `path` and reads the reply.
AskResult ask(const std::string& path, const std::string& request,
              std::chrono::milliseconds timeout);

}  // namespace sinkhole::control
