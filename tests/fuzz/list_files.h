// SPDX-License-Identifier: MIT
// The list files a fuzzed configuration may name: copies of the repository's example and
// fixture lists in a FuzzDir, under the names the seed configurations use. An input that
// names any other file is not built (see fuzz_config.cc): a fuzzer must not read (or
// block on) whatever path it invents.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "tests/fuzz/fuzz_support.h"
#include "util/read_file.h"

namespace sinkhole::fuzz {

// Fills `dir` with the lists; returns their absolute paths.
inline std::set<std::string> write_list_files(const FuzzDir& dir) {
  const std::string src = SINKHOLE_SOURCE_DIR;
  const std::pair<const char*, const char*> files[] = {
      {"deploy/examples/lists/gambling.txt", "lists/gambling.txt"},
      {"deploy/examples/lists/demo-gambling.txt", "lists/demo-gambling.txt"},
      {"deploy/examples/lists/exceptions.txt", "lists/exceptions.txt"},
      {"tests/blocklist/fixtures/domains.txt", "domains.txt"},
      {"tests/blocklist/fixtures/hosts.txt", "hosts.txt"},
      {"tests/blocklist/fixtures/adblock.txt", "adblock.txt"},
      {"tests/blocklist/fixtures/patterns.txt", "patterns.txt"},
      {"tests/blocklist/fixtures/policy.rpz", "policy.rpz"},
  };
  std::filesystem::create_directories(dir.dir() / "lists");
  std::set<std::string> paths;
  for (const auto& [from, to] : files) {
    const auto text = util::read_file(src + "/" + from, nullptr);
    if (!text) {
      std::fprintf(stderr, "cannot read %s/%s\n", src.c_str(), from);
      std::abort();
    }
    paths.insert(dir.write(to, *text));
  }
  paths.insert(dir.write("casino.txt", "casino.example\nbet.example\n"));
  return paths;
}

}  // namespace sinkhole::fuzz
