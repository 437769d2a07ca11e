// SPDX-License-Identifier: MIT
// Every list in the shared real-world set (SINKHOLE_SHARED_BLOCKLISTS, read in place, never
// copied into the repo) loads with exactly the counts its README gives, and no rejects. A
// file added to the directory without a row here fails the coverage check.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>

#include "blocklist/list_reader.h"

namespace {

using namespace sinkhole::blocklist;
namespace fs = std::filesystem;

struct RealList {
  const char* path;  // relative to the shared directory
  Format format;
  size_t entries;  // README "entries", or "names" for RPZ
  size_t rules;    // README "rules" for RPZ; one rule per entry otherwise
};

// The counts are copied from the shared README.md tables.
constexpr RealList kLists[] = {
    {"stevenblack/unified-domains.txt", Format::kDomains, 83808, 83808},
    {"stevenblack/porn-only-domains.txt", Format::kDomains, 76723, 76723},
    {"stevenblack/gambling-only-domains.txt", Format::kDomains, 6212, 6212},
    {"stevenblack/social-only-domains.txt", Format::kDomains, 3244, 3244},
    {"blocklistproject/basic.hosts", Format::kHosts, 76036, 76036},
    {"blocklistproject/scam.hosts", Format::kHosts, 8527, 8527},
    {"blocklistproject/ransomware.hosts", Format::kHosts, 1904, 1904},
    {"blocklistproject/phishing.domains", Format::kDomains, 190215, 190215},
    {"blocklistproject/crypto.adblock", Format::kAdblock, 1272, 1272},
    {"blocklistproject/piracy.adblock", Format::kAdblock, 2154, 2154},
    {"ut1/gambling.domains", Format::kDomains, 32247, 32247},
    {"ut1/cryptojacking.domains", Format::kDomains, 11491, 11491},
    {"ut1/vpn.domains", Format::kDomains, 6039, 6039},
    {"ut1/dating.domains", Format::kDomains, 6504, 6504},
    {"ut1/publicite.domains", Format::kDomains, 4344, 4344},
    {"ut1/doh.domains", Format::kDomains, 3015, 3015},
    {"ut1/warez.domains", Format::kDomains, 1546, 1546},
    {"ut1/stalkerware.domains", Format::kDomains, 525, 525},
    {"ut1/social_networks.domains", Format::kDomains, 715, 715},
    {"ut1/drogue.domains", Format::kDomains, 603, 603},
    {"rpz/ads_anudeep.rpz", Format::kRpz, 42348, 84696},
    {"rpz/social_stevenblack_social_only.rpz", Format::kRpz, 3242, 6484},
    {"rpz/phishing_durablenapkin_scamblocklist.rpz", Format::kRpz, 3017, 6034},
};

// The shared directory. Every case below starts here, so that missing data fails each of
// them with this message instead of passing untested or failing on a list at a time.
fs::path shared_dir() {
  const fs::path dir = SINKHOLE_SHARED_BLOCKLISTS;
  REQUIRE_MESSAGE(!dir.empty(),
                  "SINKHOLE_SHARED_BLOCKLISTS is empty: CMake found no ../shared/data/blocklists "
                  "beside the clone nor /work/shared/data/blocklists");
  REQUIRE_MESSAGE(fs::is_regular_file(dir / "README.md"),
                  "shared blocklists not found: no " << (dir / "README.md").string());
  return dir;
}

TEST_CASE("real lists: the shared directory is there") {
  shared_dir();
}

TEST_CASE("real lists: every list file has a row with its README counts") {
  const fs::path shared = shared_dir();
  std::set<std::string> listed;
  for (const RealList& r : kLists) listed.insert(r.path);
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(shared)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), shared).generic_string();
    std::string name = e.path().filename().string();
    if (name == "README.md" || name == "SHA256SUMS" || name == "LICENSE.pdf") continue;
    ++files;
    CAPTURE(rel);
    CHECK(listed.count(rel) == 1);
  }
  CHECK(files == std::size(kLists));
}

TEST_CASE("real lists: exact counts, no rejects") {
  const fs::path shared = shared_dir();
  std::string slowest;
  long long slowest_ms = -1;
  for (const RealList& r : kLists) {
    const std::string path = r.path;
    CAPTURE(path);
    auto start = std::chrono::steady_clock::now();
    ParsedList l = read_list_file((shared / r.path).string(), r.format);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    if (ms > slowest_ms) {
      slowest_ms = ms;
      slowest = path;
    }
    CHECK(l.stats.entries == r.entries);
    CHECK(l.stats.rules == r.rules);
    CHECK(l.domains.size() == r.rules);
    CHECK(l.patterns.empty());
    CHECK(l.stats.duplicates == 0);
    CHECK(l.stats.rejects.empty());
    for (size_t i = 0; i < l.stats.rejects.size() && i < 5; ++i) {
      MESSAGE(path << ":" << l.stats.rejects[i].line << ": " << l.stats.rejects[i].reason);
    }
    // Comments, blank lines and localhost lines are all these lists hold besides entries.
    // Not a structured binding: doctest's message lambda captures it (clang 14 refuses).
    for (const auto& skip : l.stats.skipped) {
      CHECK_MESSAGE(skip.first == "localhost entry", skip.first << ": " << skip.second);
    }
  }
  MESSAGE("slowest list: " << slowest << " in " << slowest_ms << " ms");
}

TEST_CASE("real lists: the biggest list parses in well under a second") {
  const fs::path shared = shared_dir();
  auto start = std::chrono::steady_clock::now();
  ParsedList l =
      read_list_file((shared / "blocklistproject/phishing.domains").string(), Format::kDomains);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  CHECK(l.stats.entries == 190215);
  MESSAGE("phishing.domains (190,228 lines): " << ms << " ms");
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  CHECK(ms < 500);  // optimised builds only; Debug + ASan is several times slower
#endif
}

TEST_CASE("real lists: RPZ zones are `name` + `*.name` NXDOMAIN pairs") {
  const fs::path shared = shared_dir();
  ParsedList l =
      read_list_file((shared / "rpz/social_stevenblack_social_only.rpz").string(), Format::kRpz);
  REQUIRE(l.domains.size() == 6484);
  for (size_t i = 0; i + 1 < l.domains.size(); i += 2) {
    CAPTURE(l.domains[i].line);
    CHECK(l.domains[i].name == l.domains[i + 1].name);
    CHECK(l.domains[i].scope == Scope::kExact);
    CHECK(l.domains[i + 1].scope == Scope::kSubdomains);
    CHECK(l.domains[i].action == ListAction::kNxDomain);
    CHECK(l.domains[i + 1].line == l.domains[i].line + 1);
  }
}

}  // namespace
