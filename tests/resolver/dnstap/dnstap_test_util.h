// SPDX-License-Identifier: MIT
// Helpers of the dnstap tests: a temporary directory, socket addresses, reading a dnstap
// file back with fstrm's reader and protobuf-c, and a collector that completes the Frame
// Streams handshake and then never reads again (a stalled collector).
#pragma once

#include <arpa/inet.h>
#include <fstrm.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "resolver/dnstap/dnstap.pb-c.h"

namespace sinkhole::test {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    path_ = std::string(base && *base ? base : "/tmp") + "/dnstap_test_XXXXXX";
    if (!mkdtemp(path_.data())) throw std::runtime_error("mkdtemp failed");
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline sockaddr_in v4(const char* addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr, &sa.sin_addr);
  return sa;
}

inline sockaddr_in6 v6(const char* addr, uint16_t port) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  inet_pton(AF_INET6, addr, &sa.sin6_addr);
  return sa;
}

inline std::string bytes_of(const ProtobufCBinaryData& b) {
  return {reinterpret_cast<const char*>(b.data), b.len};
}

// Every frame of a dnstap file, unpacked; `content_type` gets the START frame's type.
struct ReadBack {
  bool opened = false;
  std::string content_type;
  std::vector<Dnstap__Dnstap*> frames;
  ~ReadBack() {
    for (auto* f : frames) dnstap__dnstap__free_unpacked(f, nullptr);
  }
};

inline void read_dnstap_file(const std::string& path, ReadBack& out) {
  fstrm_file_options* fopt = fstrm_file_options_init();
  fstrm_file_options_set_file_path(fopt, path.c_str());
  fstrm_reader* r = fstrm_file_reader_init(fopt, nullptr);
  fstrm_file_options_destroy(&fopt);
  if (!r) return;
  if (fstrm_reader_open(r) == fstrm_res_success) {
    out.opened = true;
    const fstrm_control* start = nullptr;
    if (fstrm_reader_get_control(r, FSTRM_CONTROL_START, &start) == fstrm_res_success && start) {
      const uint8_t* ct = nullptr;
      size_t ct_len = 0;
      if (fstrm_control_get_field_content_type(start, 0, &ct, &ct_len) == fstrm_res_success)
        out.content_type.assign(reinterpret_cast<const char*>(ct), ct_len);
    }
    const uint8_t* data = nullptr;
    size_t len = 0;
    while (fstrm_reader_read(r, &data, &len) == fstrm_res_success)
      out.frames.push_back(dnstap__dnstap__unpack(nullptr, len, data));
  }
  fstrm_reader_destroy(&r);
}

// Listens on a Unix socket, accepts one writer, answers its READY with ACCEPT, reads its
// START — and then reads nothing more until stop(): the writer's socket buffer fills and its
// I/O thread blocks, as with a collector that hangs.
class StalledCollector {
 public:
  explicit StalledCollector(const std::string& path) {
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        listen(listen_fd_, 4) != 0)
      throw std::runtime_error("cannot listen on " + path);
    thread_ = std::thread([this] { handshake(); });
  }
  ~StalledCollector() { stop(); }

  // Waits for the handshake; true when it completed.
  bool wait_handshake() {
    if (thread_.joinable()) thread_.join();
    return handshake_ok_;
  }
  // Closes the connection and the listening socket: the writer's next write fails.
  void stop() {
    if (thread_.joinable()) thread_.join();
    if (conn_fd_ >= 0) close(conn_fd_);
    if (listen_fd_ >= 0) close(listen_fd_);
    conn_fd_ = listen_fd_ = -1;
  }

 private:
  bool read_all(void* buf, size_t n) {
    auto* p = static_cast<uint8_t*>(buf);
    while (n > 0) {
      const ssize_t r = read(conn_fd_, p, n);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  bool read_control_frame() {
    uint32_t escape = 1, len = 0;
    if (!read_all(&escape, 4) || escape != 0 || !read_all(&len, 4)) return false;
    std::vector<uint8_t> frame(ntohl(len));
    return read_all(frame.data(), frame.size());
  }
  void handshake() {
    conn_fd_ = accept(listen_fd_, nullptr, nullptr);
    if (conn_fd_ < 0 || !read_control_frame()) return;  // READY
    fstrm_control* c = fstrm_control_init();
    fstrm_control_set_type(c, FSTRM_CONTROL_ACCEPT);
    static const char kType[] = "protobuf:dnstap.Dnstap";
    fstrm_control_add_field_content_type(c, reinterpret_cast<const uint8_t*>(kType),
                                         sizeof kType - 1);
    uint8_t buf[256];
    size_t n = sizeof buf;
    const bool encoded =
        fstrm_control_encode(c, buf, &n, FSTRM_CONTROL_FLAG_WITH_HEADER) == fstrm_res_success;
    fstrm_control_destroy(&c);
    if (!encoded || write(conn_fd_, buf, n) != static_cast<ssize_t>(n)) return;
    handshake_ok_ = read_control_frame();  // START
  }

  int listen_fd_ = -1;
  int conn_fd_ = -1;
  bool handshake_ok_ = false;
  std::thread thread_;
};

}  // namespace sinkhole::test
