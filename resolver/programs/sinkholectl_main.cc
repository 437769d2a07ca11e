// SPDX-License-Identifier: MIT
// sinkholectl: talks to a running sinkholed over its control socket.
//   sinkholectl [--socket PATH] reload        rebuild lists and policies; reports the outcome
//   sinkholectl [--socket PATH] status [--json]
//   sinkholectl [--socket PATH] stats [--json] | lists [--json]
//   sinkholectl [--socket PATH] explain NAME [--client IP] [--json]
//   sinkholectl [--socket PATH] cache flush [NAME]
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
  bool json = false;
  auto* reload =
      app.add_subcommand("reload",
                         "Rebuild lists and policies from the configuration; the old policy keeps "
                         "serving if the new one fails");
  auto* status = app.add_subcommand("status", "Policy generation, lists, reloads, counters");
  status->add_flag("--json", json, "Machine-readable output");
  auto* stats = app.add_subcommand(
      "stats", "Counters: queries, answers, blocked by list/category/action, cache, upstreams");
  stats->add_flag("--json", json, "Machine-readable output");
  auto* lists = app.add_subcommand("lists", "Every list in service: format, entries, age");
  lists->add_flag("--json", json, "Machine-readable output");
  std::string name, client;
  auto* explain = app.add_subcommand(
      "explain", "Why NAME is blocked or allowed: policy, list and file:line, action, EDE text");
  explain->add_option("name", name, "Domain name")->required();
  explain->add_option("-c,--client", client,
                      "Client address whose policy applies (default: the default policy)");
  explain->add_flag("--json", json, "Machine-readable output");
  auto* cache = app.add_subcommand("cache", "Packet cache");
  cache->require_subcommand(1);
  std::string flush_name;
  auto* flush = cache->add_subcommand("flush", "Empty the cache, or drop every answer for NAME");
  flush->add_option("name", flush_name, "Only this name (all types)");
  app.footer("Exit status: 0 ok, 1 the server reported a failure, 2 server unreachable.");
  CLI11_PARSE(app, argc, argv);

  std::string command;
  if (reload->parsed()) {
    command = "reload";
  } else if (status->parsed()) {
    command = "status";
  } else if (stats->parsed()) {
    command = "stats";
  } else if (lists->parsed()) {
    command = "lists";
  } else if (explain->parsed()) {
    // One line, words split on blanks: a name or address never holds one.
    if (name.find_first_of(" \t\n") != std::string::npos ||
        client.find_first_of(" \t\n") != std::string::npos) {
      std::cerr << "sinkholectl: a name or address cannot contain blanks\n";
      return 1;
    }
    command = "explain " + name + (client.empty() ? "" : " " + client);
  } else if (flush->parsed()) {
    if (flush_name.find_first_of(" \t\n") != std::string::npos) {
      std::cerr << "sinkholectl: a name cannot contain blanks\n";
      return 1;
    }
    command = "cache flush" + (flush_name.empty() ? "" : " " + flush_name);
  }
  if (json) command += " json";
  std::string error;
  const std::string reply = ask(socket_path, command, error);
  if (reply.empty()) {
    std::cerr << "sinkholectl: cannot reach sinkholed at " << socket_path << ": " << error << "\n";
    return 2;
  }
  // The reply goes to stdout even when it reports a failure: scripts read one stream.
  const bool failed = reply.rfind("failed", 0) == 0 || reply.rfind("error", 0) == 0;
  std::cout << reply;
  if (reply.back() != '\n') std::cout << "\n";
  return failed ? 1 : 0;
}
