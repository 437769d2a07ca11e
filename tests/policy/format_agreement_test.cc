// SPDX-License-Identifier: MIT
// One format rule: for every fixture list (tests/blocklist/fixtures) and every shared
// real-world list (../shared/data/blocklists), the daemon (a list in the config without
// `format:`, built by build_snapshot) and `sinkholed --check-list` without `--format`
// (blocklist::check_lists) choose the same format for the same reason, and it is the
// format the file really has (the README of the shared lists says which).
#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "blocklist/format_inference.h"
#include "blocklist/list_check.h"
#include "policy/snapshot_builder.h"

namespace {

namespace fs = std::filesystem;
using sinkhole::blocklist::Format;

struct Known {
  fs::path path;
  Format format;
};

std::vector<Known> known_lists() {
  const fs::path fixtures = SINKHOLE_FIXTURES;
  const fs::path shared = SINKHOLE_SHARED_BLOCKLISTS;
  REQUIRE_MESSAGE(!shared.empty(), "SINKHOLE_SHARED_BLOCKLISTS is empty");
  std::vector<Known> out = {
      {fixtures / "domains.txt", Format::kDomains}, {fixtures / "hosts.txt", Format::kHosts},
      {fixtures / "adblock.txt", Format::kAdblock}, {fixtures / "patterns.txt", Format::kPatterns},
      {fixtures / "policy.rpz", Format::kRpz},
  };
  // Every shared list, by the README's table: the directory and extension say the format.
  for (const auto& e : fs::recursive_directory_iterator(shared)) {
    if (!e.is_regular_file()) continue;
    const std::string ext = e.path().extension().string();
    const std::string dir = e.path().parent_path().filename().string();
    Format f;
    if (ext == ".hosts")
      f = Format::kHosts;
    else if (ext == ".adblock")
      f = Format::kAdblock;
    else if (ext == ".rpz")
      f = Format::kRpz;
    else if (ext == ".domains" || (dir == "stevenblack" && ext == ".txt"))
      f = Format::kDomains;
    else
      continue;  // README.md, SHA256SUMS, LICENSE.pdf
    out.push_back({e.path(), f});
  }
  REQUIRE(out.size() >= 5 + 23);  // the fixtures and the 23 shared lists
  return out;
}

TEST_CASE("the daemon and --check-list infer the same format for every known list") {
  const auto lists = known_lists();
  // One config with every list and no format: the daemon's rule. The fixtures reject
  // some lines on purpose, so the guard's reject ratio is lifted.
  std::string yaml = "list_defaults: { max_reject_ratio: 100% }\nlists:\n";
  for (size_t i = 0; i < lists.size(); ++i)
    yaml += "  l" + std::to_string(i) + ": { path: \"" + lists[i].path.string() + "\" }\n";
  const auto built = sinkhole::policy::build_snapshot(yaml, "/etc/sinkholed/sinkholed.yaml", 1);
  std::string errors;
  for (const auto& e : built.errors) errors += e + "\n";
  INFO(errors);
  REQUIRE(built.snapshot != nullptr);
  REQUIRE(built.snapshot->lists.size() == lists.size());

  for (size_t i = 0; i < lists.size(); ++i) {
    const auto& daemon = built.snapshot->lists[i];
    CAPTURE(lists[i].path.string());
    CHECK(daemon.format == lists[i].format);
    CHECK(daemon.format_basis == sinkhole::blocklist::FormatBasis::kContent);
    CHECK(daemon.stats.entries > 0);
    // --check-list on the same file, without --format: the header names the format and a
    // line says how it was chosen, in the same words as the daemon's summary.
    std::ostringstream out;
    sinkhole::blocklist::check_lists({lists[i].path.string()}, nullptr, out);
    const std::string text = out.str();
    const std::string header = lists[i].path.string() + " (" + to_string(daemon.format) + "): ";
    CHECK(text.rfind(header, 0) == 0);
    const std::string described =
        sinkhole::blocklist::describe({daemon.format, daemon.format_basis, daemon.format_why});
    CHECK(text.find("  format: " + described + "\n") != std::string::npos);
  }
}

}  // namespace
