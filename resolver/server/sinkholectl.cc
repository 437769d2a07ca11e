// SPDX-License-Identifier: MIT
// sinkholectl: talks to a running sinkholed over its control socket.
//   sinkholectl [--socket PATH] reload        rebuild lists and policies; reports the outcome
//   sinkholectl [--socket PATH] status [--json]
// Exit 0 on success, 1 when the server reports a failure, 2 when it cannot be reached.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

namespace {

// Sends one command line and returns the whole reply; empty + `error` if unreachable.
std::string ask(const std::string& socket_path, const std::string& command, std::string& error) {
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
  const std::string line = command + "\n";
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
  CLI::App app{"sinkholectl — control a running sinkholed", "sinkholectl"};
  std::string socket_path = "/run/sinkholed/control.sock";
  app.add_option("-s,--socket", socket_path, "Control socket of the server")->capture_default_str();
  app.require_subcommand(1);
  auto* reload =
      app.add_subcommand("reload",
                         "Rebuild lists and policies from the configuration; the old policy keeps "
                         "serving if the new one fails");
  bool json = false;
  auto* status = app.add_subcommand("status", "Policy generation, lists, reloads, counters");
  status->add_flag("--json", json, "Machine-readable output");
  app.footer("Exit status: 0 ok, 1 the server reported a failure, 2 server unreachable.");
  CLI11_PARSE(app, argc, argv);

  std::string command = reload->parsed() ? "reload" : (json ? "status json" : "status");
  (void)status;
  std::string error;
  const std::string reply = ask(socket_path, command, error);
  if (reply.empty()) {
    std::cerr << "sinkholectl: cannot reach sinkholed at " << socket_path << ": " << error << "\n";
    return 2;
  }
  std::cout << reply;
  if (reply.rfind("failed", 0) == 0 || reply.rfind("error", 0) == 0) return 1;
  return 0;
}
