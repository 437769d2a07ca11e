// SPDX-License-Identifier: MIT
// TempDir: a private directory under the system temp dir for list and config files,
// removed with everything in it when the test ends. Shared by the policy tests.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

namespace sinkhole::test {

class TempDir {
 public:
  TempDir() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("sinkhole-policy-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
            "-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to `name` (relative to the directory); returns the absolute path.
  std::string write(const std::string& name, std::string_view text) const {
    const std::filesystem::path p = dir_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary);
    f << text;
    REQUIRE(f.good());
    return p.string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string config() const { return path("sinkholed.yaml"); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace sinkhole::test
