// SPDX-License-Identifier: MIT
#include "resolver/control/control_socket.h"

#include "resolver/control/command_table.h"

#include <fmt/format.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

namespace sinkhole::control {

namespace {
constexpr size_t kMaxRequest = 4096;

// A request carrying a file (list push / list stage: Argument::upload) may be up to
// kMaxUploadRequest; every other one 4 KiB. Told by the command name, which to_line
// writes first: {"command":"list push",...
size_t max_request(const std::string& partial) {
  constexpr std::string_view kHead = "{\"command\":\"";
  if (partial.size() < kHead.size() || partial.compare(0, kHead.size(), kHead) != 0)
    return kMaxRequest;
  const size_t end = partial.find('"', kHead.size());
  if (end == std::string::npos || end - kHead.size() > 64) return kMaxRequest;
  const Command* c =
      find_command(std::string_view(partial).substr(kHead.size(), end - kHead.size()));
  return c && has_upload(*c) ? kMaxUploadRequest : kMaxRequest;
}

// A socket file someone still accepts on must not be unlinked from under them.
bool socket_in_use(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}
}  // namespace

std::string control_socket_problem(const config::ControlConfig& c, const std::string& runtime_dir) {
  if (c.socket.empty()) return {};
  if (c.socket.size() >= sizeof(sockaddr_un{}.sun_path))
    return fmt::format("control.socket {}: longer than a Unix socket path may be ({} bytes)",
                       c.socket, sizeof(sockaddr_un{}.sun_path) - 1);
  if (!c.group.empty() && !::getgrnam(c.group.c_str()))
    return fmt::format("control.group '{}': no such group", c.group);
  const std::filesystem::path dir = std::filesystem::path(c.socket).parent_path();
  // The runtime directory is made at start when missing; no other directory is.
  if (dir.empty() || dir == std::filesystem::path(runtime_dir) ||
      dir == std::filesystem::path(runtime_dir + "/"))
    return {};
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return fmt::format(
        "control.socket {}: directory {} does not exist (sinkholed creates only "
        "server.runtime_dir, {})",
        c.socket, dir.string(), runtime_dir);
  return {};
}

struct ControlSocket::Connection {
  uv_pipe_t pipe;
  ControlSocket* owner;
  std::string request;
  bool answered = false;
  bool closed = false;
  int pending = 0;  // writes in flight + a reply not yet given

  void finish() {
    if (closed) return;
    closed = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe), [](uv_handle_t* h) {
      auto* c = static_cast<Connection*>(h->data);
      c->closed_done = true;
      if (c->pending == 0) delete c;
    });
  }
  bool closed_done = false;
};

bool ControlSocket::open(uv_loop_t* loop, const std::string& path, Handler handler,
                         std::string* error, unsigned mode, const std::string& group) {
  handler_ = std::move(handler);
  path_ = path;
  if (socket_in_use(path)) {
    if (error) *error = "in use by another running sinkholed";
    return false;
  }
  ::unlink(path.c_str());  // a stale socket left by an earlier run
  uv_pipe_init(loop, &pipe_, 0);
  pipe_.data = this;
  int rc = uv_pipe_bind(&pipe_, path.c_str());
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&pipe_), 16, on_connection);
  if (rc != 0) {
    if (error) *error = uv_strerror(rc);
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
    return false;
  }
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
  if (!group.empty()) {
    const struct group* g = ::getgrnam(group.c_str());
    if (!g || ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      if (error)
        *error = g ? fmt::format("cannot give it to group '{}': {}", group, std::strerror(errno))
                   : fmt::format("no group named '{}'", group);
      close_now();
      return false;
    }
  }
  open_ = true;
  return true;
}

void ControlSocket::close_now() {
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
  ::unlink(path_.c_str());
}

void ControlSocket::close() {
  if (!open_) return;
  open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
  ::unlink(path_.c_str());
}

void ControlSocket::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<ControlSocket*>(server->data);
  if (status < 0 || !self->open_) return;
  auto* c = new Connection{};
  c->owner = self;
  uv_pipe_init(server->loop, &c->pipe, 0);
  c->pipe.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
    c->finish();
    return;
  }
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->pipe),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char chunk[64 * 1024];  // control thread only: one buffer serves every read
        *buf = uv_buf_init(chunk, sizeof chunk);
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<Connection*>(s->data);
        if (nread < 0 || c->answered) {
          if (!c->answered) c->finish();
          return;
        }
        const size_t before = c->request.size();
        c->request.append(buf->base, static_cast<size_t>(nread));
        // Only the new bytes: a long upload must not be scanned again at every read.
        const size_t nl = c->request.find('\n', before);
        if (nl == std::string::npos) {
          if (c->request.size() > max_request(c->request)) c->finish();
          return;
        }
        c->answered = true;
        uv_read_stop(s);
        std::string line = c->request.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        ++c->pending;
        c->owner->handler_(line, [c](const std::string& text) {
          --c->pending;
          if (c->closed) {
            if (c->closed_done && c->pending == 0) delete c;
            return;
          }
          struct Write {
            uv_write_t req;
            std::string data;
            Connection* conn;
          };
          auto* w = new Write{{}, text, c};
          if (w->data.empty() || w->data.back() != '\n') w->data.push_back('\n');
          w->req.data = w;
          ++c->pending;
          uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
          if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->pipe), &b, 1,
                       [](uv_write_t* req, int) {
                         std::unique_ptr<Write> w(static_cast<Write*>(req->data));
                         Connection* c = w->conn;
                         --c->pending;
                         c->finish();
                         if (c->closed_done && c->pending == 0) delete c;
                       }) != 0) {
            --c->pending;
            delete w;
            c->finish();
          }
        });
      });
}

}  // namespace sinkhole::control
