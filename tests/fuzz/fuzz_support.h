// SPDX-License-Identifier: MIT
// What the fuzz targets share: FUZZ_CHECK (a property that must hold for every input: a
// failure aborts, so libFuzzer saves the input as a crash), and FuzzDir, a private
// directory of fixed files (lists, resolv.conf) that a target's inputs may name and
// nothing else. One thread: libFuzzer calls a target from its main thread.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace sinkhole::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A directory made once per process under $TMPDIR and removed at exit. The process also
// changes into it, so a relative path an input invents resolves inside it.
class FuzzDir {
 public:
  FuzzDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/sinkhole-fuzz-XXXXXX";
    if (!::mkdtemp(templ.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    dir_ = std::filesystem::canonical(templ);
    if (::chdir(dir_.c_str()) != 0) std::abort();
  }
  ~FuzzDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  FuzzDir(const FuzzDir&) = delete;
  FuzzDir& operator=(const FuzzDir&) = delete;

  // Writes `text` to `name` inside the directory; returns the absolute path.
  std::string write(const std::string& name, std::string_view text) const {
    const std::filesystem::path p = dir_ / name;
    std::ofstream f(p, std::ios::binary);
    f << text;
    if (!f.good()) std::abort();
    return p.string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace sinkhole::fuzz
