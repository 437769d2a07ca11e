// SPDX-License-Identifier: MIT
#include "resolver/control/file_watcher.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "util/log_escape.h"

namespace sinkhole::control {

namespace fs = std::filesystem;

struct FileWatcher::Dir {
  uv_fs_event_t handle;
  FileWatcher* owner;
  std::string path;
};

FileWatcher::FileWatcher(uv_loop_t* loop, std::chrono::milliseconds debounce,
                         std::function<void()> changed)
    : loop_(loop),
      debounce_ms_(static_cast<uint64_t>(debounce.count())),
      changed_(std::move(changed)) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
}

FileWatcher::~FileWatcher() = default;

void FileWatcher::watch(const std::vector<std::string>& files) {
  if (closed_) return;
  for (Dir* d : dirs_)
    uv_close(reinterpret_cast<uv_handle_t*>(&d->handle),
             [](uv_handle_t* h) { delete static_cast<Dir*>(h->data); });
  dirs_.clear();
  files_.clear();
  if (files.empty()) {
    pending_ = false;
    candidate_.clear();
    uv_timer_stop(&timer_);
    return;
  }
  std::set<std::string> dirs;
  for (const auto& f : files) {
    const fs::path p = fs::absolute(f).lexically_normal();
    files_.insert(p.string());
    dirs.insert(p.parent_path().string());
  }
  for (const auto& d : dirs) {
    auto* dir = new Dir{{}, this, d};
    uv_fs_event_init(loop_, &dir->handle);
    dir->handle.data = dir;
    if (uv_fs_event_start(&dir->handle, on_event, d.c_str(), 0) != 0) {
      spdlog::warn("watch: cannot watch {}; reload with SIGHUP or sinkholectl",
                   util::escape_for_log(d, 240));
      uv_close(reinterpret_cast<uv_handle_t*>(&dir->handle),
               [](uv_handle_t* h) { delete static_cast<Dir*>(h->data); });
      continue;
    }
    dirs_.push_back(dir);
  }
}

void FileWatcher::on_event(uv_fs_event_t* h, const char* filename, int, int status) {
  auto* dir = static_cast<Dir*>(h->data);
  FileWatcher* self = dir->owner;
  if (status < 0 || !filename || self->closed_) return;
  const std::string full = (fs::path(dir->path) / filename).lexically_normal().string();
  if (!self->files_.count(full)) return;
  // Debounce: a list being written fires many events; look again once they have settled.
  self->pending_ = true;
  self->candidate_.clear();
  uv_timer_start(&self->timer_, on_timer, self->debounce_ms_, 0);
}

void FileWatcher::on_timer(uv_timer_t* t) {
  auto* w = static_cast<FileWatcher*>(t->data);
  if (w->closed_ || !w->pending_) return;
  std::string now = w->fingerprint();
  if (now != w->candidate_) {
    // First look, or the files moved since the last one: still being written.
    w->candidate_ = std::move(now);
    uv_timer_start(&w->timer_, on_timer, w->debounce_ms_, 0);
    return;
  }
  w->pending_ = false;
  w->candidate_.clear();
  spdlog::info("watch: configuration or list changed, reloading");
  w->changed_();
}

std::string FileWatcher::fingerprint() const {
  std::string out;
  for (const auto& f : files_) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) {
      out += fmt::format("{}:{};", f, std::strerror(errno));
      continue;
    }
    out +=
        fmt::format("{}:{}:{}:{}:{}.{}:{}.{};", f, st.st_ino, st.st_mode, st.st_size,
                    st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  }
  return out;
}

void FileWatcher::close() {
  if (closed_) return;
  closed_ = true;
  for (Dir* d : dirs_)
    uv_close(reinterpret_cast<uv_handle_t*>(&d->handle),
             [](uv_handle_t* h) { delete static_cast<Dir*>(h->data); });
  dirs_.clear();
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

}  // namespace sinkhole::control
