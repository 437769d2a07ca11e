// SPDX-License-Identifier: MIT
// dnstap output (https://dnstap.info), the log format Unbound, Knot and BIND speak: every
// client query and every answer sent, with addresses, transport and times, as protobuf
// frames over Frame Streams to a collector socket (fstrm_capture, dnstap-receiver, ...) or
// into a file.
//
// Glossary:
//   DnstapWriter  one per process: libfstrm's I/O thread (fstrm_iothr) with one input queue
//                 per worker, writing to a StreamOutput. Created and destroyed by the control
//                 thread; destroying it writes what is queued, then closes the stream.
//   WorkerTap     one per worker, used by that worker's thread only: encodes an event into
//                 a buffer of its own pool and submits it to its own queue. Never blocks:
//                 a full queue, or no collector connected, drops the message and counts it.
//
// Counters (in the worker's block): dnstap_messages (queued), dnstap_dropped (not queued:
// queue full or no collector), dnstap_lost (queued, then discarded by the I/O thread because
// the stream failed before it was written; the I/O thread is that counter's only writer).
#pragma once

#include <fstrm.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "resolver/dnstap/message_encoder.h"
#include "resolver/dnstap/stream_output.h"
#include "resolver/metrics/worker_counters.h"

namespace sinkhole::dnstap {

class DnstapWriter;

class WorkerTap {
 public:
  // CLIENT_QUERY: `msg` as received; peer.query_ns is its arrival time.
  void client_query(const Peer& peer, const uint8_t* msg, size_t len) noexcept;
  // CLIENT_RESPONSE: `msg` as sent, stamped now; peer.query_ns is the query's arrival time.
  void client_response(const Peer& peer, const uint8_t* msg, size_t len) noexcept;

  WorkerTap(DnstapWriter& writer, fstrm_iothr_queue* queue, metrics::WorkerCounters& counters);
  ~WorkerTap();
  WorkerTap(const WorkerTap&) = delete;
  WorkerTap& operator=(const WorkerTap&) = delete;

 private:
  // A pooled buffer. Pooled buffers come back in queue order (fstrm releases a queue's
  // frames in order), so the next one in the ring is the oldest: if it is still busy, the
  // queue is as good as full.
  struct Slot {
    std::atomic<bool> busy{false};
    WorkerTap* tap = nullptr;
    uint8_t* data = nullptr;
  };

  void submit(size_t size) noexcept;
  // fstrm free callbacks, on the I/O thread: count the frame lost unless it was written.
  static void release_slot(void* buf, void* slot);
  static void release_heap(void* buf, void* tap);
  void count_if_lost() noexcept;

  DnstapWriter& writer_;
  fstrm_iothr_queue* queue_;
  metrics::WorkerCounters& counters_;
  MessageEncoder encoder_;
  size_t slot_bytes_;
  std::unique_ptr<uint8_t[]> arena_;
  std::unique_ptr<Slot[]> slots_;
  size_t slot_count_;
  size_t next_ = 0;
};

class DnstapWriter {
 public:
  struct Options {
    StreamOutput::Kind output = StreamOutput::Kind::kUnixSocket;
    std::string path;
    std::string identity;  // empty: left out of the messages
    std::string version;
    bool client_queries = true;
    bool client_responses = true;
    unsigned workers = 1;
    unsigned queue_size = 1024;  // messages per worker queue; a power of two
  };

  // Starts the I/O thread and waits (at most a second) for its first connection attempt,
  // so that the first queries are not dropped only because the handshake was not done.
  // A collector that is not there yet is not an error: it is retried every second.
  // Null with `error` set when the output cannot be used (bad path, file not writable).
  static std::unique_ptr<DnstapWriter> create(const Options& options, std::string* error);
  // Writes what the queues hold, closes the stream and joins the I/O thread. The workers
  // must have stopped, and their counters must still exist (lost frames are counted).
  ~DnstapWriter();
  DnstapWriter(const DnstapWriter&) = delete;
  DnstapWriter& operator=(const DnstapWriter&) = delete;

  // The tap of worker `index` (< workers), counting into `counters`. Call once per worker,
  // on the control thread, before that worker serves.
  WorkerTap& attach(unsigned index, metrics::WorkerCounters& counters);

  const Options& options() const { return options_; }
  bool connected() const { return output_->ready(); }
  const StreamOutput& output() const { return *output_; }

 private:
  friend class WorkerTap;
  explicit DnstapWriter(Options options) : options_(std::move(options)) {}

  Options options_;
  std::unique_ptr<StreamOutput> output_;
  fstrm_iothr* iothr_ = nullptr;
  std::vector<std::unique_ptr<WorkerTap>> taps_;
};

}  // namespace sinkhole::dnstap
