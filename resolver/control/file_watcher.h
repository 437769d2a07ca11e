// SPDX-License-Identifier: MIT
// FileWatcher: calls back (debounced) when the config file or a list file changes. It
// watches the parent directories, not the files: admins and tools replace lists by
// writing a temp file and renaming it over the old one, which a watch on the old inode
// would never see.
//
// A change is published only once every watched file is stable: after the debounce (no
// event for that long) the watcher takes a fingerprint of each file (inode, size, mtime
// and ctime in nanoseconds; ctime cannot be set from user space, so any write moves it),
// then waits one more debounce and compares. Only two equal fingerprints in a row call
// back; any difference starts the wait again. A list rewritten in place by a writer that
// pauses (truncate, write half, think, write the rest) is therefore not published half
// written unless it pauses for two debounce periods; publishing by atomic rename (write a
// temp file, then mv) is the way that never races, and the README says so. A half file
// that still slips through meets the list guard (policy/list_guard.h). Control thread only.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace sinkhole::control {

class FileWatcher {
 public:
  FileWatcher(uv_loop_t* loop, std::chrono::milliseconds debounce, std::function<void()> changed);
  ~FileWatcher();
  // Replaces the watched set (absolute or relative file paths); empty: watch nothing (a
  // change seen but not yet published is forgotten).
  void watch(const std::vector<std::string>& files);
  // control.watch_debounce changed by a reload: applies from the next change seen.
  void set_debounce(std::chrono::milliseconds debounce) {
    debounce_ms_ = static_cast<uint64_t>(debounce.count());
  }
  void close();

 private:
  struct Dir;
  static void on_event(uv_fs_event_t* h, const char* filename, int events, int status);
  static void on_timer(uv_timer_t* t);
  // inode, size, mtime and ctime (ns) of every watched file, or "missing"/the error.
  std::string fingerprint() const;

  uv_loop_t* loop_;
  uint64_t debounce_ms_;
  std::function<void()> changed_;
  uv_timer_t timer_{};
  bool closed_ = false;
  std::vector<Dir*> dirs_;
  std::set<std::string> files_;  // normalised paths
  bool pending_ = false;         // a change seen, not yet published
  std::string candidate_;        // the fingerprint taken one debounce ago ("" none yet)
};

}  // namespace sinkhole::control
