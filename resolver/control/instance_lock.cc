// SPDX-License-Identifier: MIT
#include "resolver/control/instance_lock.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sinkhole::control {

namespace {

std::string host_text(const config::SocketAddress& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family() == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr, buf, sizeof buf);
  else
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr, buf, sizeof buf);
  return buf;
}

bool is_wildcard(const config::SocketAddress& a) {
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr == htonl(INADDR_ANY);
  return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr);
}

std::string join(const std::string& dir, const std::string& file) {
  return dir.empty() || dir.back() == '/' ? dir + file : dir + "/" + file;
}

// The PID a holder wrote into its lock file, or "".
std::string pid_in(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[32] = {};
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  std::string pid(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  if (pid.empty() ||
      !std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return {};
  return pid;
}

// Held by another open file description (an exclusive holder: listen files are only ever
// taken exclusively).
bool held(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool busy = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);  // drops the shared lock if we got it
  return busy;
}

std::string by_pid(const std::string& pid) {
  return pid.empty() ? "another sinkholed" : "sinkholed pid " + pid;
}

}  // namespace

std::string listen_lock_name(const config::SocketAddress& addr) {
  return fmt::format("listen-{}-{}.lock", host_text(addr), addr.port());
}

std::string port_lock_name(int family, int port) {
  return fmt::format("port-{}-{}.lock", family == AF_INET6 ? "inet6" : "inet", port);
}

std::string control_lock_name(const std::string& socket_path) {
  std::string name = socket_path;
  while (!name.empty() && name.front() == '/') name.erase(0, 1);
  std::replace(name.begin(), name.end(), '/', '-');
  return "control-" + name + ".lock";
}

std::vector<LockSpec> lock_plan(const std::vector<config::SocketAddress>& listen,
                                const std::string& control_socket) {
  std::vector<LockSpec> plan;
  auto add = [&plan](LockSpec s) {
    for (auto& p : plan)
      if (p.file == s.file) {
        p.exclusive = p.exclusive || s.exclusive;
        return;
      }
    plan.push_back(std::move(s));
  };
  for (const auto& a : listen) {
    const int port = a.port();
    add({listen_lock_name(a), true, a.to_string(), a.family(), port});
    // Exclusive when this config listens on the port's wildcard: its own shared lock on
    // the same file (another open file description) would conflict with it.
    const bool wildcard = std::any_of(listen.begin(), listen.end(), [&](const auto& o) {
      return o.family() == a.family() && o.port() == port && is_wildcard(o);
    });
    add({port_lock_name(a.family(), port), wildcard, a.to_string(), a.family(), port});
  }
  if (!control_socket.empty())
    add({control_lock_name(control_socket), true, "control socket " + control_socket, 0, -1});
  return plan;
}

bool ensure_runtime_dir(const std::string& dir, std::string* error) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return true;
    if (error) *error = fmt::format("runtime directory {} is not a directory", dir);
    return false;
  }
  if (::mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST) return true;
  if (error)
    *error = fmt::format("cannot create runtime directory {} (server.runtime_dir): {}", dir,
                         std::strerror(errno));
  return false;
}

bool InstanceLocks::acquire(const std::string& dir, const std::vector<LockSpec>& plan,
                            std::string* error) {
  for (const auto& s : plan) {
    const std::string path = join(dir, s.file);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
      if (error) *error = fmt::format("lock file {}: {}", path, std::strerror(errno));
      release();
      return false;
    }
    if (::flock(fd, (s.exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
      const int e = errno;
      ::close(fd);
      if (error)
        *error = e == EWOULDBLOCK ? describe_conflict(dir, s, plan)
                                  : fmt::format("lock file {}: {}", path, std::strerror(e));
      release();
      return false;
    }
    if (s.exclusive) {
      // The holder's PID, for the message a second instance prints.
      const std::string pid = fmt::format("{}\n", ::getpid());
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        // The lock holds without it; only the other instance's message is poorer.
      }
    }
    fds_.push_back(fd);
  }
  return true;
}

void InstanceLocks::release() {
  for (int fd : fds_) ::close(fd);
  fds_.clear();
}

std::string InstanceLocks::describe_conflict(const std::string& dir, const LockSpec& s,
                                             const std::vector<LockSpec>& plan) const {
  const std::string path = join(dir, s.file);
  if (s.family == 0)
    return fmt::format("{} is in use by {} (lock {})", s.what, by_pid(pid_in(path)), path);
  if (s.file.rfind("listen-", 0) == 0)
    return fmt::format("{} is already served by {} (lock {})", s.what, by_pid(pid_in(path)), path);
  // The port's file: someone listens on an overlapping address (wildcard against
  // specific). Name them from their own listen files.
  std::vector<std::string> holders;
  const std::string suffix = fmt::format("-{}.lock", s.port);
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind("listen-", 0) != 0 || name.size() <= suffix.size() + 7 ||
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      const std::string host = name.substr(7, name.size() - 7 - suffix.size());
      if ((host.find(':') != std::string::npos) != (s.family == AF_INET6)) continue;
      if (std::any_of(plan.begin(), plan.end(), [&](const auto& p) { return p.file == name; }))
        continue;
      if (!held(join(dir, name))) continue;
      const std::string shown = s.family == AF_INET6 ? "[" + host + "]" : host;
      holders.push_back(fmt::format("{}:{} by {}", shown, s.port, by_pid(pid_in(join(dir, name)))));
    }
    ::closedir(d);
  }
  std::string who;
  for (const auto& h : holders) who += (who.empty() ? "" : ", ") + h;
  if (who.empty()) who = "another sinkholed";
  return fmt::format("{} overlaps an address already served on port {} ({}; lock {})", s.what,
                     s.port, who, path);
}

bool probe_unused(const config::SocketAddress& addr, std::string* error) {
  for (const int type : {SOCK_DGRAM, SOCK_STREAM}) {
    const int fd = ::socket(addr.family(), type | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;  // bind_listeners reports it with the reason
    const int one = 1;
    // TCP: a previous run's TIME_WAIT connections must not look like a listener; Linux
    // still refuses the bind while any socket listens on an overlapping address.
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    const bool in_use = ::bind(fd, addr.sa(), addr.sa_len()) != 0 && errno == EADDRINUSE;
    ::close(fd);
    if (in_use) {
      if (error)
        *error = fmt::format("{} ({}) is already in use by another process", addr.to_string(),
                             type == SOCK_DGRAM ? "udp" : "tcp");
      return false;
    }
  }
  return true;
}

}  // namespace sinkhole::control
