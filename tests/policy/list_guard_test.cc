// SPDX-License-Identifier: MIT
// The list guard, alone (check_list on figures) and through build_snapshot on real files:
// empty lists, rejected-line ratios, shrinking against the version serving, allow_shrink,
// --force, max_entries, non-regular files (a FIFO is refused without blocking), the
// list_defaults section and the per-list keys with their errors.
#include "policy/list_guard.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "policy/snapshot_builder.h"
#include "tests/policy/snapshot_helpers.h"
#include "tests/policy/temp_dir.h"

// This binary's operator new fails every allocation above a threshold while a test sets
// one: std::bad_alloc on demand, in any build (a real out-of-memory cannot be provoked
// under ASan, which aborts instead of throwing).
// GCC cannot see that the delete below pairs with this new (both malloc/free).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {

using sinkhole::test::messages;
std::atomic<size_t> g_fail_above{static_cast<size_t>(-1)};
}  // namespace

void* operator new(size_t n) {
  if (n > g_fail_above.load(std::memory_order_relaxed)) throw std::bad_alloc();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
// Every other form too, so that no allocation (Hyperscan uses the nothrow one) reaches a
// delete of another family: ASan reports new-vs-free mismatches across them.
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  if (n > g_fail_above.load(std::memory_order_relaxed)) return nullptr;
  return std::malloc(n ? n : 1);
}
void* operator new[](size_t n) {
  return operator new(n);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace {

using sinkhole::policy::build_snapshot;
using sinkhole::policy::BuildOptions;
using sinkhole::policy::BuildResult;
using sinkhole::policy::check_list;
using sinkhole::policy::ListFigures;
using sinkhole::policy::ListLimits;
using sinkhole::test::TempDir;

std::string lines(int n, const char* prefix = "name") {
  std::string out;
  for (int i = 0; i < n; ++i) out += std::string(prefix) + std::to_string(i) + ".example\n";
  return out;
}

const char* kOneList = "lists:\n  gambling:\n    path: gambling.txt\n";

}  // namespace

TEST_CASE("check_list: empty, reject ratio and shrink, in that order") {
  const ListLimits defaults;
  ListFigures f{"gambling", "/l/gambling.txt", 12, 0, 0, 12};
  auto r = check_list(f, defaults, std::nullopt);
  REQUIRE(r);
  CHECK(r->reason == std::string("empty"));
  CHECK(r->message == "list gambling (/l/gambling.txt): 0 valid entries of 12 lines");

  f = {"g", "p", 1000, 990, 990, 10};  // 10 of 1000: exactly 1%, allowed
  CHECK_FALSE(check_list(f, defaults, std::nullopt));
  f = {"g", "p", 1000, 989, 989, 11};  // 11 of 1000
  r = check_list(f, defaults, std::nullopt);
  REQUIRE(r);
  CHECK(r->reason == std::string("reject_ratio"));
  CHECK(r->message == "list g (p): 11 of 1000 entry lines rejected (1.1%, max_reject_ratio 1%)");

  f = {"g", "p", 50, 50, 50, 0};
  CHECK_FALSE(check_list(f, defaults, 100));  // exactly half gone: allowed
  f = {"g", "p", 49, 49, 49, 0};
  r = check_list(f, defaults, 100);
  REQUIRE(r);
  CHECK(r->reason == std::string("shrink"));
  CHECK(r->message == "list g (p): 49 entries, down from 100 in service (-51%, max_shrink 50%)");
  CHECK_FALSE(check_list(f, defaults, std::nullopt));  // nothing serving: no baseline
  CHECK_FALSE(check_list(f, defaults, 0));
  ListLimits allow = defaults;
  allow.allow_shrink = true;
  CHECK_FALSE(check_list(f, allow, 100));
  ListLimits loose = defaults;
  loose.max_shrink = 0.9;
  CHECK_FALSE(check_list(f, loose, 100));
  f = {"g", "p", 200, 200, 200, 0};
  CHECK_FALSE(check_list(f, defaults, 100));  // growth is never refused
}

TEST_CASE("check_list escapes the list name and path") {
  ListFigures f{"bad\nname", "/l/\x1b[31m.txt", 0, 0, 0, 0};
  const auto r = check_list(f, ListLimits{}, std::nullopt);
  REQUIRE(r);
  CHECK(r->message == "list bad\\x0aname (/l/\\x1b[31m.txt): 0 valid entries of 0 lines");
}

TEST_CASE("a list of garbage, an HTML page or an empty file fails the build, naming the list") {
  TempDir tmp;
  const std::string config = tmp.path("sinkholed.yaml");
  struct Case {
    const char* what;
    std::string text;
    const char* reason;
    const char* piece;
  };
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919 + 13) % 256);
  const Case cases[] = {
      {"empty", "", "empty", "0 valid entries of 0 lines"},
      {"comments only", "# nothing here\n\n", "empty", "0 valid entries of 2 lines"},
      {"html", "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n</body>\n</html>\n",
       "empty", "0 valid entries of 5 lines"},
      {"garbage", garbage, nullptr, ""},  // empty or reject_ratio: whatever the bytes make
      {"some rejects", lines(50) + "not a name\nalso not\n", "reject_ratio",
       "2 of 52 entry lines rejected"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    tmp.write("gambling.txt", c.text);
    const BuildResult r = build_snapshot(kOneList, config, 2);
    INFO("errors:", messages(r.errors));
    CHECK(r.snapshot == nullptr);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].rfind(config + ":3:11: list gambling (" + tmp.path("gambling.txt") + "): ",
                            0) == 0);
    CHECK(r.errors[0].find(c.piece) != std::string::npos);
    CHECK(r.errors[0].find("refusing to publish") != std::string::npos);
    REQUIRE(r.refusals.size() == 1);
    CHECK(r.refusals[0].list == "gambling");
    if (c.reason) CHECK(r.refusals[0].reason == std::string(c.reason));
    // Every warning line is one line of text, and short.
    for (const auto& w : r.warnings) {
      CHECK(w.find('\n') == std::string::npos);
      CHECK(w.find('\x1b') == std::string::npos);
      CHECK(w.size() < 400);
    }
  }
}

TEST_CASE("a list that shrank past max_shrink fails, unless forced or allow_shrink") {
  TempDir tmp;
  const std::string config = tmp.path("sinkholed.yaml");
  tmp.write("gambling.txt", lines(40));
  BuildOptions serving;
  serving.serving_entries = {{"gambling", 100}, {"other", 5}};
  BuildResult r = build_snapshot(kOneList, config, 2, nullptr, serving);
  REQUIRE(r.refusals.size() == 1);
  CHECK(r.refusals[0].reason == std::string("shrink"));
  CHECK(r.errors[0].find("40 entries, down from 100 in service (-60%, max_shrink 50%)") !=
        std::string::npos);

  BuildOptions forced = serving;
  forced.force = true;
  r = build_snapshot(kOneList, config, 2, nullptr, forced);
  INFO("errors:", messages(r.errors));
  REQUIRE(r.snapshot != nullptr);
  CHECK(r.snapshot->lists[0].stats.entries == 40);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("published anyway (--force)") != std::string::npos);

  r = build_snapshot(std::string(kOneList) + "    allow_shrink: true\n", config, 2, nullptr,
                     serving);
  CHECK(r.snapshot != nullptr);
  r = build_snapshot(std::string(kOneList) + "    max_shrink: 70%\n", config, 2, nullptr, serving);
  CHECK(r.snapshot != nullptr);
  r = build_snapshot(std::string("list_defaults:\n  max_shrink: 0.7\n") + kOneList, config, 2,
                     nullptr, serving);
  CHECK(r.snapshot != nullptr);
}

TEST_CASE("max_entries fails the list even when forced; list_defaults sets it for all") {
  TempDir tmp;
  const std::string config = tmp.path("sinkholed.yaml");
  tmp.write("gambling.txt", lines(20000));
  BuildOptions forced;
  forced.force = true;
  BuildResult r = build_snapshot(std::string(kOneList) + "    max_entries: 10000\n", config, 1,
                                 nullptr, forced);
  REQUIRE(r.refusals.size() == 1);
  CHECK(r.refusals[0].reason == std::string("max_entries"));
  CHECK(r.errors[0].find("more than max_entries 10000 entries (20000 read)") != std::string::npos);
  r = build_snapshot(std::string("list_defaults:\n  max_entries: 19999\n") + kOneList, config, 1);
  REQUIRE(r.refusals.size() == 1);
  CHECK(r.refusals[0].reason == std::string("max_entries"));
  r = build_snapshot(std::string("list_defaults:\n  max_entries: 20000\n") + kOneList, config, 1);
  CHECK(r.snapshot != nullptr);
}

TEST_CASE("std::bad_alloc while a list loads fails that list, not the process") {
  TempDir tmp;
  const std::string config = tmp.path("sinkholed.yaml");
  tmp.write("gambling.txt", lines(20000));  // ~400 KB: its read buffer is one allocation
  g_fail_above = 256 * 1024;
  const BuildResult r = build_snapshot(kOneList, config, 1);
  g_fail_above = static_cast<size_t>(-1);
  INFO("errors:", messages(r.errors));
  CHECK(r.snapshot == nullptr);
  REQUIRE(r.refusals.size() == 1);
  CHECK(r.refusals[0].reason == std::string("out_of_memory"));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("list gambling (" + tmp.path("gambling.txt") +
                         "): out of memory while loading — refusing to publish") !=
        std::string::npos);
  // And with memory back, the same list loads.
  CHECK(build_snapshot(kOneList, config, 1).snapshot != nullptr);
}

TEST_CASE("a file longer than max_entries could fill is refused unread") {
  TempDir tmp;
  const std::string config = tmp.path("sinkholed.yaml");
  tmp.write("gambling.txt", lines(10) + std::string(4096, '#') + "\n");
  const BuildResult r = build_snapshot(std::string(kOneList) + "    max_entries: 4\n", config, 1);
  REQUIRE(r.refusals.size() == 1);
  CHECK(r.refusals[0].reason == std::string("max_entries"));
  CHECK(r.errors[0].find("more than max_entries 4 entries could fill (1024 bytes each)") !=
        std::string::npos);
}

TEST_CASE("a FIFO is refused at once, never opened for a blocking read") {
  TempDir tmp;
  const std::string config = tmp.path("sinkholed.yaml");
  REQUIRE(::mkfifo(tmp.path("gambling.txt").c_str(), 0600) == 0);
  const BuildResult r = build_snapshot(kOneList, config, 1);  // would hang without the check
  REQUIRE(r.refusals.size() == 1);
  CHECK(r.refusals[0].reason == std::string("not_regular_file"));
  CHECK(r.errors[0].find("not a regular file (a FIFO)") != std::string::npos);
}

TEST_CASE("the guard keys: values and errors at file:line:column") {
  TempDir tmp;
  const std::string config = tmp.path("sinkholed.yaml");
  tmp.write("gambling.txt", lines(10));
  struct Case {
    std::string yaml;
    const char* error;  // nullptr: builds
  };
  const Case cases[] = {
      {std::string(kOneList) + "    max_reject_ratio: 5%\n", nullptr},
      {std::string(kOneList) + "    max_reject_ratio: 0.05\n", nullptr},
      {std::string(kOneList) + "    max_shrink: 1\n", nullptr},
      {std::string(kOneList) + "    allow_shrink: false\n", nullptr},
      {std::string(kOneList) + "    max_reject_ratio: 150%\n",
       "list 'gambling'.max_reject_ratio must be a fraction from 0 to 1 or a percentage"},
      {std::string(kOneList) + "    max_shrink: lots\n",
       "list 'gambling'.max_shrink must be a fraction"},
      {std::string(kOneList) + "    max_shrink: -1%\n",
       "list 'gambling'.max_shrink must be a fraction"},
      {std::string(kOneList) + "    allow_shrink: yes\n",
       "list 'gambling'.allow_shrink must be true or false"},
      {std::string(kOneList) + "    max_entries: 0\n",
       "list 'gambling'.max_entries must be an integer from 1"},
      {std::string(kOneList) + "    max_entrys: 3\n", "unknown key 'max_entrys'"},
      {"list_defaults:\n  allow_shrink: true\n" + std::string(kOneList),
       "2:3: unknown key 'allow_shrink' in list_defaults"},
      {"list_defaults: 5\n" + std::string(kOneList), "1:16: list_defaults must be a mapping"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.yaml);
    const BuildResult r = build_snapshot(c.yaml, config, 1);
    INFO("errors:", messages(r.errors));
    if (!c.error) {
      CHECK(r.snapshot != nullptr);
      continue;
    }
    CHECK(r.snapshot == nullptr);
    REQUIRE(r.errors.size() >= 1);
    CHECK(r.errors[0].rfind(config + ":", 0) == 0);
    CHECK(r.errors[0].find(c.error) != std::string::npos);
  }
}
