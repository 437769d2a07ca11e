// SPDX-License-Identifier: MIT
// StreamOutput: where the Frame Streams (fstrm) bytes of dnstap go — a collector's Unix
// socket (bidirectional handshake, like Unbound's dnstap-socket-path) or a file. libfstrm's
// fstrm_writer does the framing and the READY/ACCEPT/START handshake over this transport.
//
// Why not fstrm_unix_writer / fstrm_file_writer: they are this same transport without two
// things a resolver needs. (1) A collector that accepts but stops reading blocks their
// socket forever, and then fstrm_iothr_destroy (our shutdown) waits forever; our socket has
// send/receive timeouts, after which the stream is closed and reopened later. (2) They do
// not say whether a message was written: fstrm's I/O thread silently frees what it cannot
// write. `ready()` tells (a) workers whether queueing is worth it at all and (b) the free
// callback whether the frame it releases went out (see WorkerTap), so losses are counted.
//
// Threads: constructed and destroyed by the control thread; the fstrm_rdwr callbacks run on
// fstrm's I/O thread only; ready() and failures() may be read by any thread.
#pragma once

#include <fstrm.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace sinkhole::dnstap {

class StreamOutput {
 public:
  enum class Kind : uint8_t { kUnixSocket, kFile };

  // A collector that takes longer than this to accept, answer the handshake or take bytes is
  // treated as gone: the stream closes, fstrm reopens it after its reopen interval.
  static constexpr std::chrono::milliseconds kIoTimeout{1000};

  // A file is created (truncated) here, so that a bad path fails at startup; a socket is
  // only checked for length (a collector may start later). Null with `error` set on failure.
  static std::unique_ptr<StreamOutput> create(Kind kind, const std::string& path,
                                              std::string* error);
  ~StreamOutput();
  StreamOutput(const StreamOutput&) = delete;
  StreamOutput& operator=(const StreamOutput&) = delete;

  // A new fstrm_writer (framing, handshake, content type) over this output. The writer
  // borrows the output: destroy the writer (fstrm_iothr_destroy) before the output.
  fstrm_writer* make_writer(const std::string& content_type);

  // True while the stream is open and its handshake done, and the last write succeeded:
  // a frame released right now was written.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // Failed opens, handshakes and writes so far.
  uint64_t failures() const { return failures_.load(std::memory_order_acquire); }

 private:
  StreamOutput(Kind kind, std::string path, int fd);

  // fstrm_rdwr callbacks (I/O thread).
  static fstrm_res op_open(void* obj);
  static fstrm_res op_close(void* obj);
  static fstrm_res op_read(void* obj, void* data, size_t count);
  static fstrm_res op_write(void* obj, const struct iovec* iov, int iovcnt);
  static fstrm_res op_destroy(void* obj);

  fstrm_res open_socket();
  fstrm_res write_all(const struct iovec* iov, int iovcnt);
  fstrm_res fail();
  void close_fd();

  const Kind kind_;
  const std::string path_;
  int fd_ = -1;
  bool file_used_ = false;  // a file is opened once: reopening would truncate it
  unsigned writes_ = 0;     // successful writes since open; the handshake is the first ones
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> failures_{0};
};

}  // namespace sinkhole::dnstap
