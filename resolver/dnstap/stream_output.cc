// SPDX-License-Identifier: MIT
#include "resolver/dnstap/stream_output.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "resolver/dnstap/tsan_handoff.h"

namespace sinkhole::dnstap {

namespace {

// Frames the fstrm writer sends before data: READY and START on a socket, START in a file.
constexpr unsigned kSocketHandshakeWrites = 2;
constexpr unsigned kFileHandshakeWrites = 1;
// fstrm hands at most 256 iovecs per write (FSTRM__WRITER_IOVEC_SIZE).
constexpr int kMaxIov = 256;

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000),
          static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

}  // namespace

std::unique_ptr<StreamOutput> StreamOutput::create(Kind kind, const std::string& path,
                                                   std::string* error) {
  if (kind == Kind::kUnixSocket) {
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
      *error = "dnstap socket path must be 1 to " +
               std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes: " + path;
      return nullptr;
    }
    return std::unique_ptr<StreamOutput>(new StreamOutput(kind, path, -1));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    *error = "cannot open dnstap file " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<StreamOutput>(new StreamOutput(kind, path, fd));
}

StreamOutput::StreamOutput(Kind kind, std::string path, int fd)
    : kind_(kind), path_(std::move(path)), fd_(fd) {}

StreamOutput::~StreamOutput() {
  close_fd();
}

fstrm_writer* StreamOutput::make_writer(const std::string& content_type) {
  fstrm_rdwr* rdwr = fstrm_rdwr_init(this);
  fstrm_rdwr_set_open(rdwr, op_open);
  fstrm_rdwr_set_close(rdwr, op_close);
  fstrm_rdwr_set_write(rdwr, op_write);
  fstrm_rdwr_set_destroy(rdwr, op_destroy);
  // A read callback makes the writer bidirectional (READY/ACCEPT/START, STOP/FINISH), as a
  // collector socket expects; a file gets the unidirectional START ... STOP.
  if (kind_ == Kind::kUnixSocket) fstrm_rdwr_set_read(rdwr, op_read);
  fstrm_writer_options* wopt = fstrm_writer_options_init();
  fstrm_writer_options_add_content_type(wopt, content_type.data(), content_type.size());
  fstrm_writer* w = fstrm_writer_init(wopt, &rdwr);
  fstrm_writer_options_destroy(&wopt);
  return w;
}

void StreamOutput::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

fstrm_res StreamOutput::fail() {
  ready_.store(false, std::memory_order_release);
  failures_.fetch_add(1, std::memory_order_acq_rel);
  return fstrm_res_failure;
}

fstrm_res StreamOutput::open_socket() {
  close_fd();  // a failed handshake leaves the last socket open
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail();
  const timeval tv = to_timeval(kIoTimeout);
  // SO_SNDTIMEO also bounds connect() on a Unix socket whose backlog is full.
  if (setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
      setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
    close_fd();
    return fail();
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path_.data(), path_.size());
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    close_fd();
    return fail();
  }
  return fstrm_res_success;
}

fstrm_res StreamOutput::op_open(void* obj) {
  auto* self = static_cast<StreamOutput*>(obj);
  self->writes_ = 0;
  self->ready_.store(false, std::memory_order_release);
  if (self->kind_ == Kind::kUnixSocket) return self->open_socket();
  // The file was opened by create(); after a write error it stays closed.
  if (self->file_used_ || self->fd_ < 0) return self->fail();
  self->file_used_ = true;
  return fstrm_res_success;
}

fstrm_res StreamOutput::op_close(void* obj) {
  auto* self = static_cast<StreamOutput*>(obj);
  self->ready_.store(false, std::memory_order_release);
  self->close_fd();
  return fstrm_res_success;
}

fstrm_res StreamOutput::op_read(void* obj, void* data, size_t count) {
  auto* self = static_cast<StreamOutput*>(obj);
  auto* p = static_cast<uint8_t*>(data);
  while (count > 0) {
    const ssize_t n = ::read(self->fd_, p, count);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return self->fail();  // closed, error, or the receive timeout
    p += n;
    count -= static_cast<size_t>(n);
  }
  return fstrm_res_success;
}

fstrm_res StreamOutput::write_all(const struct iovec* iov, int iovcnt) {
  // Partial writes advance through a private copy: fstrm's array is const.
  iovec pending[kMaxIov];
  while (iovcnt > 0) {
    const int n_iov = std::min(iovcnt, kMaxIov);
    std::copy(iov, iov + n_iov, pending);
    iov += n_iov;
    iovcnt -= n_iov;
    int first = 0;
    while (first < n_iov) {
      ssize_t n;
      if (kind_ == Kind::kUnixSocket) {
        msghdr m{};
        m.msg_iov = pending + first;
        m.msg_iovlen = static_cast<size_t>(n_iov - first);
        n = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
      } else {
        n = ::writev(fd_, pending + first, n_iov - first);
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail();  // collector gone, or the send timeout: it stopped reading
      auto left = static_cast<size_t>(n);
      while (first < n_iov && left >= pending[first].iov_len) left -= pending[first++].iov_len;
      if (first < n_iov) {
        pending[first].iov_base = static_cast<uint8_t*>(pending[first].iov_base) + left;
        pending[first].iov_len -= left;
      }
    }
  }
  return fstrm_res_success;
}

fstrm_res StreamOutput::op_write(void* obj, const struct iovec* iov, int iovcnt) {
  auto* self = static_cast<StreamOutput*>(obj);
  // Frame payloads are the workers' buffers, passed on by fstrm's queue (tsan_handoff.h).
  for (int i = 0; i < iovcnt; ++i) handoff_acquire(iov[i].iov_base);
  if (self->fd_ < 0) return self->fail();
  if (self->write_all(iov, iovcnt) != fstrm_res_success) return fstrm_res_failure;
  const unsigned handshake =
      self->kind_ == Kind::kUnixSocket ? kSocketHandshakeWrites : kFileHandshakeWrites;
  if (++self->writes_ >= handshake) self->ready_.store(true, std::memory_order_release);
  return fstrm_res_success;
}

fstrm_res StreamOutput::op_destroy(void*) {
  return fstrm_res_success;  // the DnstapWriter owns this object and deletes it itself
}

}  // namespace sinkhole::dnstap
