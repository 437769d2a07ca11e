// SPDX-License-Identifier: MIT
// ControlSocket: the Unix socket `sinkholectl` talks to. One request per connection: a
// command line ending in '\n' (e.g. "reload", "status", "status json"); the reply is text,
// then the server closes. Replies may come later (a reload answers when it is done).
// Control thread only.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

namespace sinkhole::control {

class ControlSocket {
 public:
  using Reply = std::function<void(const std::string&)>;
  using Handler = std::function<void(const std::string& command, Reply reply)>;

  // Binds `path` (replacing a stale socket file) with `mode` and, when `group` is not
  // empty, that group as owner (operators in it may use sinkholectl without root);
  // false + `error` on failure.
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
