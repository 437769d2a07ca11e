// SPDX-License-Identifier: MIT
// sinkholectl: talks to a running sinkholed over its control socket. Its commands, their
// arguments and --help come from the server's command table (control/command_table.h via
// control/ctl_cli.h); it sends one request line, reads one reply line, and prints the text
// (or, with --json, the JSON result). Exit 0 on success, 1 when the server reports a
// failure, 2 when it cannot be reached. Single-threaded.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "resolver/control/command_table.h"
#include "resolver/control/ctl_cli.h"

namespace {

// Sends one request line and returns the whole reply; empty + `error` if unreachable.
std::string ask(const std::string& socket_path, const std::string& request, std::string& error) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return {};
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = "socket path too long";
    ::close(fd);
    return {};
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = std::strerror(errno);
    ::close(fd);
    return {};
  }
  const std::string line = request + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    error = std::strerror(errno);
    ::close(fd);
    return {};
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      reply.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(fd);
  if (reply.empty()) error = "the server closed the connection without a reply";
  return reply;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sinkhole::control;
  CLI::App app{"sinkholectl — control a running sinkholed", "sinkholectl"};
  CtlCli cli(app);
  CLI11_PARSE(app, argc, argv);

  const Request request = cli.request();
  std::string error;
  const std::string line = ask(cli.socket_path(), to_line(request), error);
  if (line.empty()) {
    std::cerr << "sinkholectl: cannot reach sinkholed at " << cli.socket_path() << ": " << error
              << "\n";
    return kExitUnreachable;
  }
  const auto reply = parse_reply(line);
  if (!reply) {
    std::cerr << "sinkholectl: sinkholed at " << cli.socket_path()
              << " sent a reply this version does not read\n";
    return kExitFailed;
  }
  return render_reply(*reply, request.json, std::cout);
}
