// SPDX-License-Identifier: MIT
// ControlSocket: the Unix socket `sinkholectl` talks to, as a transport: one request per
// connection, a line ending in '\n' (at most 4 KiB); one answer line, then the server
// closes. What the lines hold (one JSON object each) is command_table.h's business. An
// answer may come later (a reload answers when its build is done). Control thread only.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "resolver/config/config.h"

namespace sinkhole::control {

// Why the control socket cannot be opened as configured, or "": `control.group` names no
// group, the socket's directory does not exist (sinkholed creates none but the runtime
// directory, `runtime_dir`), or the path is too long for a Unix socket. main() asks
// before it binds anything, so the start fails at once; --check asks too.
std::string control_socket_problem(const config::ControlConfig& c, const std::string& runtime_dir);

class ControlSocket {
 public:
  // Sends the answer line (a line end is added when missing); call it once.
  using Answer = std::function<void(const std::string& line)>;
  using Handler = std::function<void(const std::string& request, Answer answer)>;

  // Binds `path` (replacing a stale socket file) with `mode` and, when `group` is not
  // empty, that group as owner (operators in it may use sinkholectl without root);
  // false + `error` on failure. Creates no directory: the path's must exist.
  bool open(uv_loop_t* loop, const std::string& path, Handler handler, std::string* error,
            unsigned mode = 0660, const std::string& group = {});
  void close();

 private:
  struct Connection;
  static void on_connection(uv_stream_t* server, int status);
  void close_now();

  uv_pipe_t pipe_{};
  Handler handler_;
  std::string path_;
  bool open_ = false;
};

}  // namespace sinkhole::control
