// SPDX-License-Identifier: MIT
// Issue 13 benchmark: PolicySnapshot::decide (pipeline stage 5) before and after mandatory
// lists. One snapshot from generated lists (fixed seed): a 200,000-name category list, a
// 20,000-name mandatory list (with a 200-name exception list of its own), a 500-name allow
// list, and an AdBlock list with exceptions. Two policies with the same lists: `plain`
// (the category lists only: no mandatory list) and `regulated` (the same plus the mandatory
// list). Measured per decide, cycling through 65,536 names of one kind:
//   miss        names in no list (most real traffic)
//   block       names of the category list
//   allowed     names of the allow list that the category list also blocks
//   mandatory   names of the mandatory list that the allow list also holds (still blocked)
// `before` is the decide of main before this change (copied below verbatim, on the same
// snapshot), so both columns come from one run on one machine.
// Run: build/perf/decide_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "policy/snapshot.h"
#include "policy/snapshot_builder.h"
#include "resolver/dns/name.h"

namespace sp = sinkhole::policy;

namespace {

constexpr size_t kCategory = 200'000, kMandatory = 20'000, kAllow = 500, kExceptions = 200;
constexpr size_t kNames = 1 << 16;

std::string random_name(std::mt19937_64& rng, const char* tld) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  const size_t len = 6 + rng() % 10;
  for (size_t i = 0; i < len; ++i) s += kChars[rng() % 36];
  return s + "." + tld;
}

struct Setup {
  std::filesystem::path dir;
  std::shared_ptr<const sp::PolicySnapshot> snap;
  std::vector<std::string> category, mandatory, allow;

  Setup() {
    dir = std::filesystem::temp_directory_path() / "sinkhole-decide-bench";
    std::filesystem::create_directories(dir);
    std::mt19937_64 rng(13);
    for (size_t i = 0; i < kCategory; ++i) category.push_back(random_name(rng, "bet"));
    for (size_t i = 0; i < kMandatory; ++i) mandatory.push_back(random_name(rng, "vn"));
    // The allow list: category names (false positives) and mandatory names (the mistake).
    for (size_t i = 0; i < kAllow / 2; ++i) allow.push_back(category[i * 7]);
    for (size_t i = 0; i < kAllow / 2; ++i) allow.push_back(mandatory[i * 11]);
    write("category.txt", category);
    write("mandatory.txt", mandatory);
    write("allow.txt", allow);
    std::vector<std::string> exc(mandatory.end() - kExceptions, mandatory.end());
    write("mandatory-exceptions.txt", exc);
    std::ofstream(dir / "ads.adblock") << "||ads.example^\n@@||ok.ads.example^\n";
    const std::string yaml =
        "lists:\n"
        "  category: { path: category.txt }\n"
        "  ads: { path: ads.adblock, format: adblock }\n"
        "  allow: { path: allow.txt }\n"
        "  mic: { path: mandatory.txt, mandatory: true, exceptions: [mic-exceptions] }\n"
        "  mic-exceptions: { path: mandatory-exceptions.txt }\n"
        "policies:\n"
        "  - { name: plain, clients: [10.0.0.0/8], allow: [allow], block: [ads, category] }\n"
        "  - { name: regulated, clients: [10.1.0.0/16], allow: [allow], "
        "block: [ads, category, mic] }\n";
    const auto r = sp::build_snapshot(yaml, (dir / "sinkholed.yaml").string(), 1);
    if (!r.snapshot) {
      for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.c_str());
      std::abort();
    }
    snap = r.snapshot;
  }
  ~Setup() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void write(const char* name, const std::vector<std::string>& names) const {
    std::ofstream f(dir / name);
    for (const auto& n : names) f << n << "\n";
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

// main's decide before mandatory lists, verbatim but for the member accesses.
sp::Verdict decide_before(const sp::PolicySnapshot& s, int32_t p, const uint8_t* qname, size_t len,
                          sinkhole::blocklist::PatternScratch* scratch) noexcept {
  using sp::Verdict;
  Verdict v;
  if (p < 0 || static_cast<size_t>(p) >= s.policies.size()) return v;
  const sp::Policy& policy = s.policies[static_cast<size_t>(p)];
  for (uint16_t l : policy.allow)
    if (s.lists[l].matcher->lookup(qname, len, scratch)) return v;
  for (const sp::BlockRule& rule : policy.block) {
    const sp::ListData& list = s.lists[rule.list];
    const auto m = list.matcher->lookup(qname, len, scratch);
    if (!m) continue;
    if (m->rule.kind == sinkhole::blocklist::RuleKind::kException) return v;
    v.list = rule.list;
    v.depth = m->depth;
    v.line = m->rule.line;
    v.entry = m->rule.entry;
    v.pattern = m->rule.pattern;
    int32_t action = rule.action;
    if (action == sp::kNoAction) {
      switch (m->rule.action) {
        case sinkhole::blocklist::ListAction::kNxDomain:
          action = s.nxdomain;
          break;
        case sinkhole::blocklist::ListAction::kNoData:
          action = s.nodata;
          break;
        case sinkhole::blocklist::ListAction::kDrop:
          action = s.drop;
          break;
        case sinkhole::blocklist::ListAction::kTcpOnly:
          action = s.tcp_only;
          break;
        case sinkhole::blocklist::ListAction::kLocalData:
          action = s.local_data;
          break;
        case sinkhole::blocklist::ListAction::kPassthru:
          return v;
        case sinkhole::blocklist::ListAction::kNone:
          break;
      }
    }
    if (action == sp::kNoAction) action = list.default_action;
    if (action == sp::kNoAction) action = s.nxdomain;
    v.action = static_cast<uint16_t>(action);
    v.kind = s.actions[v.action].kind == sp::ActionKind::kPassthru ? Verdict::Kind::kMonitor
                                                                   : Verdict::Kind::kBlock;
    return v;
  }
  return v;
}

enum Kind { kMiss, kBlock, kAllowed, kMandatoryAllowed };

// kNames wire names of one kind, laid out back to back.
struct Wires {
  std::vector<uint8_t> bytes;
  std::vector<std::pair<size_t, size_t>> at;
};

Wires wires(Kind kind) {
  Setup& s = setup();
  std::mt19937_64 rng(static_cast<uint64_t>(kind) + 100);
  Wires w;
  for (size_t i = 0; i < kNames; ++i) {
    std::string name;
    switch (kind) {
      case kMiss:
        name = random_name(rng, "com");
        break;
      case kBlock:
        name = "www." + s.category[rng() % s.category.size()];
        break;
      case kAllowed:
        name = s.allow[rng() % (kAllow / 2)];
        break;
      case kMandatoryAllowed:
        name = s.allow[kAllow / 2 + rng() % (kAllow / 2)];
        break;
    }
    uint8_t buf[sinkhole::dns::kMaxNameWire];
    const size_t n = sinkhole::dns::text_to_wire(name, buf);
    w.at.emplace_back(w.bytes.size(), n);
    w.bytes.insert(w.bytes.end(), buf, buf + n);
  }
  return w;
}

template <bool kBefore>
void BM_decide(benchmark::State& state) {
  Setup& s = setup();
  const auto kind = static_cast<Kind>(state.range(0));
  const auto policy = static_cast<int32_t>(state.range(1));
  const Wires w = wires(kind);
  size_t i = 0, blocked = 0;
  for (auto _ : state) {
    const auto& [off, len] = w.at[i++ & (kNames - 1)];
    const sp::Verdict v = kBefore
                              ? decide_before(*s.snap, policy, w.bytes.data() + off, len, nullptr)
                              : s.snap->decide(policy, w.bytes.data() + off, len, nullptr);
    blocked += v.kind == sp::Verdict::Kind::kBlock;
    benchmark::DoNotOptimize(v);
  }
  state.counters["blocked"] =
      benchmark::Counter(static_cast<double>(blocked) / static_cast<double>(state.iterations()));
}

void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"kind", "policy"});
  for (int policy : {0, 1})
    for (int kind : {kMiss, kBlock, kAllowed, kMandatoryAllowed}) b->Args({kind, policy});
}

}  // namespace

BENCHMARK(BM_decide<true>)->Name("before")->Apply(args);
BENCHMARK(BM_decide<false>)->Name("after")->Apply(args);
BENCHMARK_MAIN();
