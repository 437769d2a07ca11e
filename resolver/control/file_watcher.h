// SPDX-License-Identifier: MIT
// FileWatcher: calls back (debounced) when the config file or a list file changes. It
// watches the parent directories, not the files: admins and tools replace lists by
// writing a temp file and renaming it over the old one, which a watch on the old inode
// would never see. Control thread only.
#pragma once

#include <uv.h>

#include <chrono>
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
  // Replaces the watched set (absolute or relative file paths).
  void watch(const std::vector<std::string>& files);
  void close();

 private:
  struct Dir;
  static void on_event(uv_fs_event_t* h, const char* filename, int events, int status);

  uv_loop_t* loop_;
  uint64_t debounce_ms_;
  std::function<void()> changed_;
  uv_timer_t timer_{};
  bool closed_ = false;
  std::vector<Dir*> dirs_;
  std::set<std::string> files_;  // normalised paths
};

}  // namespace sinkhole::control
