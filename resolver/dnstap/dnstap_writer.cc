// SPDX-License-Identifier: MIT
#include "resolver/dnstap/dnstap_writer.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include "resolver/dnstap/tsan_handoff.h"

namespace sinkhole::dnstap {

using metrics::Counter;

namespace {

constexpr char kContentType[] = "protobuf:dnstap.Dnstap";
// Pooled buffers hold an encoded message of up to this much DNS message, plus identity and
// version. UDP answers are capped by udp_payload (1232 by default) and queries are small, so
// nearly every message fits; a bigger one (a large TCP answer) gets a malloc'ed buffer.
constexpr size_t kSlotMessageBytes = 2048;
// Frames the I/O thread may hold in its output batch (fstrm's default output queue size)
// besides the input queue: their buffers are still busy.
constexpr size_t kOutputBatch = 64;
// The first connection attempt is waited for at most this long at startup.
constexpr std::chrono::milliseconds kFirstOpenWait{1000};

}  // namespace

// ---- WorkerTap -------------------------------------------------------------------------

WorkerTap::WorkerTap(DnstapWriter& writer, fstrm_iothr_queue* queue,
                     metrics::WorkerCounters& counters)
    : writer_(writer),
      queue_(queue),
      counters_(counters),
      encoder_(writer.options_.identity, writer.options_.version),
      // Room for the protobuf framing of a message: addresses, ports, times, tags (~80 B).
      slot_bytes_((kSlotMessageBytes + writer.options_.identity.size() +
                   writer.options_.version.size() + 128 + 63) &
                  ~size_t{63}),
      slot_count_(writer.options_.queue_size + kOutputBatch) {
  // Allocated once: the steady state allocates nothing per message.
  arena_.reset(new uint8_t[slot_bytes_ * slot_count_]);
  slots_.reset(new Slot[slot_count_]);
  for (size_t i = 0; i < slot_count_; ++i) {
    slots_[i].tap = this;
    slots_[i].data = arena_.get() + i * slot_bytes_;
  }
}

WorkerTap::~WorkerTap() = default;

void WorkerTap::client_query(const Peer& peer, const uint8_t* msg, size_t len) noexcept {
  if (!writer_.options_.client_queries) return;
  // Check for room before encoding: a message that would be dropped costs nothing more.
  if (!writer_.output_->ready() || slots_[next_].busy.load(std::memory_order_acquire)) {
    counters_.inc(Counter::kDnstapDropped);
    return;
  }
  submit(encoder_.prepare_query(peer, msg, len));
}

void WorkerTap::client_response(const Peer& peer, const uint8_t* msg, size_t len) noexcept {
  if (!writer_.options_.client_responses) return;
  if (!writer_.output_->ready() || slots_[next_].busy.load(std::memory_order_acquire)) {
    counters_.inc(Counter::kDnstapDropped);
    return;
  }
  submit(encoder_.prepare_response(peer, wall_clock_ns(), msg, len));
}

void WorkerTap::submit(size_t size) noexcept {
  // fstrm owns a submitted buffer until its I/O thread has written (or discarded) the frame,
  // then calls the release function we pass. A pooled slot needs no allocation; only a
  // message too big for one (a large TCP answer) is malloc'ed here and freed by the I/O
  // thread — rare, and dnstap is opt-in.
  Slot& slot = slots_[next_];
  const bool pooled = size <= slot_bytes_;
  uint8_t* buf = pooled ? slot.data : static_cast<uint8_t*>(std::malloc(size));
  if (!buf) {
    counters_.inc(Counter::kDnstapDropped);
    return;
  }
  encoder_.pack(buf);
  if (pooled) slot.busy.store(true, std::memory_order_relaxed);
  handoff_release(buf);
  const fstrm_res r =
      pooled ? fstrm_iothr_submit(writer_.iothr_, queue_, buf, size, release_slot, &slot)
             : fstrm_iothr_submit(writer_.iothr_, queue_, buf, size, release_heap, this);
  if (r != fstrm_res_success) {
    // Queue full (or shutting down): fstrm did not take the buffer.
    if (pooled)
      slot.busy.store(false, std::memory_order_relaxed);
    else
      std::free(buf);
    counters_.inc(Counter::kDnstapDropped);
    return;
  }
  if (pooled && ++next_ == slot_count_) next_ = 0;
  counters_.inc(Counter::kDnstapMessages);
}

void WorkerTap::count_if_lost() noexcept {
  // Runs right after the frame's write (or its discard): the output's state tells which.
  if (!writer_.output_->ready()) counters_.inc(Counter::kDnstapLost);
}

void WorkerTap::release_slot(void* buf, void* slot) {
  handoff_acquire(buf);
  auto* s = static_cast<Slot*>(slot);
  s->tap->count_if_lost();
  s->busy.store(false, std::memory_order_release);  // the worker may reuse the buffer now
}

void WorkerTap::release_heap(void* buf, void* tap) {
  handoff_acquire(buf);
  static_cast<WorkerTap*>(tap)->count_if_lost();
  std::free(buf);
}

// ---- DnstapWriter ----------------------------------------------------------------------

std::unique_ptr<DnstapWriter> DnstapWriter::create(const Options& options, std::string* error) {
  const unsigned q = options.queue_size;
  if (options.workers == 0 || q < 2 || (q & (q - 1)) != 0) {
    *error = "dnstap: queue size must be a power of two and there must be a worker";
    return nullptr;
  }
  std::unique_ptr<DnstapWriter> w(new DnstapWriter(options));
  w->output_ = StreamOutput::create(options.output, options.path, error);
  if (!w->output_) return nullptr;

  fstrm_writer* fw = w->output_->make_writer(kContentType);
  fstrm_iothr_options* io = fstrm_iothr_options_init();
  bool ok =
      fw != nullptr &&
      fstrm_iothr_options_set_num_input_queues(io, options.workers) == fstrm_res_success &&
      fstrm_iothr_options_set_input_queue_size(io, q) == fstrm_res_success &&
      // One producer per queue: the lock-free queue, no mutex on the worker's path.
      fstrm_iothr_options_set_queue_model(io, FSTRM_IOTHR_QUEUE_MODEL_SPSC) == fstrm_res_success &&
      fstrm_iothr_options_set_reopen_interval(io, 1) == fstrm_res_success;
  if (ok) w->iothr_ = fstrm_iothr_init(io, &fw);  // takes the writer
  fstrm_iothr_options_destroy(&io);
  if (fw) fstrm_writer_destroy(&fw);  // still ours: fstrm_iothr_init was not reached or failed
  if (!w->iothr_) {
    *error = "dnstap: cannot start the fstrm I/O thread";
    return nullptr;
  }
  w->taps_.resize(options.workers);

  const auto deadline = std::chrono::steady_clock::now() + kFirstOpenWait;
  while (!w->output_->ready() && w->output_->failures() == 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return w;
}

DnstapWriter::~DnstapWriter() {
  // Drains every input queue, writes, sends STOP (and waits for FINISH), joins the thread.
  fstrm_iothr_destroy(&iothr_);
}

WorkerTap& DnstapWriter::attach(unsigned index, metrics::WorkerCounters& counters) {
  taps_[index] =
      std::make_unique<WorkerTap>(*this, fstrm_iothr_get_input_queue_idx(iothr_, index), counters);
  return *taps_[index];
}

}  // namespace sinkhole::dnstap
