// SPDX-License-Identifier: MIT
// Tells ThreadSanitizer about the one hand-off it cannot see: a worker fills a frame buffer
// and submits it to libfstrm, whose lock-free queue (fences inside libfstrm, which is not
// built with -fsanitize=thread) passes it to fstrm's I/O thread; that thread writes the
// buffer (StreamOutput::op_write) and then releases it (WorkerTap::release_*). The queue
// orders those accesses, but without these annotations TSan reports the worker's writes as
// racing with the I/O thread's sendmsg()/writev() reads and free(). The worker calls
// handoff_release(buf) just before submitting; the I/O thread calls handoff_acquire(buf)
// before touching it. Outside TSan builds both are empty inline functions.
// (fstrm's own copies into and out of its queue are in the library itself: tests/tsan.supp.)
#pragma once

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace sinkhole::dnstap {

inline void handoff_release([[maybe_unused]] const void* buf) noexcept {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(const_cast<void*>(buf));
#endif
}

inline void handoff_acquire([[maybe_unused]] const void* buf) noexcept {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(const_cast<void*>(buf));
#endif
}

}  // namespace sinkhole::dnstap
