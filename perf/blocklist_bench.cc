// SPDX-License-Identifier: MIT
// Issue 4 benchmarks: build and lookup of the blocklist matcher with 1,000,000 domains
// (every shared real-world list, topped up with generated names), next to two other
// designs measured in the same run:
//   - naive:      std::unordered_set<std::string>, walked suffix by suffix
//   - hyperscan:  every domain a literal ".name" in one Hyperscan literal database,
//                 accepted when the match ends at the end of ".query" (anchored suffix)
// Run: build/perf/blocklist_bench [--benchmark_filter=...]
// Environment: SINKHOLE_BLOCKLISTS (shared lists dir), SINKHOLE_BENCH_NAMES (default 1e6),
//              SINKHOLE_BENCH_HS_NAMES (names in the Hyperscan-only baseline, default all).
#include <benchmark/benchmark.h>
#include <hs/hs.h>
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "blocklist/list_reader.h"
#include "blocklist/matcher.h"
#include "resolver/dns/name.h"

namespace sb = sinkhole::blocklist;
namespace fs = std::filesystem;

namespace {

size_t rss_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t env_size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

std::string shared_dir() {
  if (const char* v = std::getenv("SINKHOLE_BLOCKLISTS")) return v;
  for (const char* c : {SINKHOLE_SHARED_BLOCKLISTS, "/work/shared/data/blocklists"})
    if (fs::exists(fs::path(c) / "README.md")) return c;
  return SINKHOLE_SHARED_BLOCKLISTS;
}

sb::Format format_of(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".hosts") return sb::Format::kHosts;
  if (ext == ".adblock") return sb::Format::kAdblock;
  if (ext == ".rpz") return sb::Format::kRpz;
  return sb::Format::kDomains;
}

// Everything the benchmarks share, built once.
struct Corpus {
  sb::ParsedList list;             // 1M subtree entries, deduplicated
  std::vector<std::string> names;  // the same names
  size_t real_names = 0;
  std::vector<std::vector<uint8_t>> hits;    // wire: "www.<entry>"
  std::vector<std::vector<uint8_t>> misses;  // wire: 4-label names on no list
  std::vector<std::string> hit_text, miss_text;
};

std::vector<uint8_t> to_wire(const std::string& name) {
  uint8_t buf[sinkhole::dns::kMaxNameWire];
  const size_t n = sinkhole::dns::text_to_wire(name, buf);
  return {buf, buf + n};
}

const Corpus& corpus() {
  static Corpus c = [] {
    Corpus c;
    const size_t target = env_size("SINKHOLE_BENCH_NAMES", 1'000'000);
    std::unordered_set<std::string> seen;
    seen.reserve(target * 2);
    for (const auto& entry : fs::recursive_directory_iterator(shared_dir())) {
      if (!entry.is_regular_file()) continue;
      const auto name = entry.path().filename().string();
      if (name == "README.md" || name == "SHA256SUMS" || entry.path().extension() == ".pdf")
        continue;
      const sb::ParsedList l = sb::read_list_file(entry.path().string(), format_of(entry.path()));
      for (const auto& d : l.domains)
        if (d.kind == sb::RuleKind::kBlock && seen.insert(d.name).second) c.names.push_back(d.name);
    }
    c.real_names = c.names.size();
    std::mt19937_64 rng(20261123);
    static const char* kTlds[] = {"com", "net", "vn", "org", "info", "bet", "club", "xyz"};
    for (size_t i = 0; c.names.size() < target; ++i) {
      std::string n = "gen" + std::to_string(rng() % 100000000) + "-casino." + "site" +
                      std::to_string(i % 5000) + "." + kTlds[rng() % 8];
      if (seen.insert(n).second) c.names.push_back(std::move(n));
    }
    if (c.names.size() > target) c.names.resize(target);
    c.list.source = "bench-1m";
    c.list.domains.reserve(c.names.size());
    for (size_t i = 0; i < c.names.size(); ++i) {
      sb::DomainEntry e;
      e.name = c.names[i];
      e.line = static_cast<uint32_t>(i + 1);
      c.list.domains.push_back(std::move(e));
    }
    for (size_t i = 0; i < 4096; ++i) {
      const std::string hit = "www." + c.names[rng() % c.names.size()];
      c.hit_text.push_back(hit);
      c.hits.push_back(to_wire(hit));
      const std::string miss = "a" + std::to_string(rng() % 1000) + ".cdn" +
                               std::to_string(rng() % 1000) + ".allowed-site" + std::to_string(i) +
                               ".com";
      c.miss_text.push_back(miss);
      c.misses.push_back(to_wire(miss));
    }
    std::fprintf(stderr, "corpus: %zu names (%zu from the shared lists, %zu generated)\n",
                 c.names.size(), c.real_names, c.names.size() - c.real_names);
    return c;
  }();
  return c;
}

std::shared_ptr<const sb::Matcher> matcher_1m() {
  static auto m = [] {
    sb::MatcherBuilder b;
    b.add(corpus().list);
    return b.build().matcher;
  }();
  return m;
}

sb::ParsedList generated_patterns(size_t count) {
  sb::ParsedList l;
  l.source = "bench-patterns";
  l.format = sb::Format::kPatterns;
  for (size_t i = 0; i < count; ++i) {
    sb::PatternEntry p;
    p.line = static_cast<uint32_t>(i + 1);
    p.expression = "^([^.]+\\.)*(bet|casino|slot)" + std::to_string(i) + "[a-z]*\\.[a-z]+$";
    p.source = p.expression;
    l.patterns.push_back(p);
  }
  return l;
}

std::shared_ptr<const sb::Matcher> matcher_1m_with_patterns() {
  static auto m = [] {
    sb::MatcherBuilder b;
    b.add(corpus().list);
    b.add(generated_patterns(10000));
    return b.build().matcher;
  }();
  return m;
}

// --- our matcher -----------------------------------------------------------------------

void BM_Matcher_Build1M(benchmark::State& state) {
  const Corpus& c = corpus();
  size_t bytes = 0, rss = 0;
  for (auto _ : state) {
    malloc_trim(0);
    const size_t before = rss_bytes();
    // The builder's scratch is gone once build() returns; what stays is the matcher.
    auto matcher = [&] {
      sb::MatcherBuilder b;
      b.add(c.list);
      return b.build().matcher;
    }();
    state.PauseTiming();
    malloc_trim(0);
    rss = rss_bytes() - before;
    bytes = matcher->memory_bytes();
    benchmark::DoNotOptimize(matcher.get());
    matcher.reset();
    state.ResumeTiming();
  }
  state.counters["names"] = static_cast<double>(c.names.size());
  state.counters["matcher_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["rss_delta_MB"] = static_cast<double>(rss) / 1e6;
}
BENCHMARK(BM_Matcher_Build1M)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Matcher_SubdomainHit(benchmark::State& state) {
  auto m = matcher_1m();
  const Corpus& c = corpus();
  size_t i = 0, found = 0;
  for (auto _ : state) {
    const auto& w = c.hits[i++ & 4095];
    auto r = m->lookup(w.data(), w.size(), nullptr);
    found += r.has_value();
    benchmark::DoNotOptimize(r);
  }
  if (found != static_cast<size_t>(state.iterations())) state.SkipWithError("a hit was missed");
}
BENCHMARK(BM_Matcher_SubdomainHit);

void BM_Matcher_Miss4Labels(benchmark::State& state) {
  auto m = matcher_1m();
  const Corpus& c = corpus();
  size_t i = 0, found = 0;
  for (auto _ : state) {
    const auto& w = c.misses[i++ & 4095];
    auto r = m->lookup(w.data(), w.size(), nullptr);
    found += r.has_value();
    benchmark::DoNotOptimize(r);
  }
  if (found != 0) state.SkipWithError("a miss matched");
}
BENCHMARK(BM_Matcher_Miss4Labels);

void BM_Matcher_Miss4LabelsWith10kPatterns(benchmark::State& state) {
  auto m = matcher_1m_with_patterns();
  sb::PatternScratch scratch;
  scratch.prepare(m->patterns());
  const Corpus& c = corpus();
  size_t i = 0, found = 0;
  for (auto _ : state) {
    const auto& w = c.misses[i++ & 4095];
    auto r = m->lookup(w.data(), w.size(), &scratch);
    found += r.has_value();
    benchmark::DoNotOptimize(r);
  }
  if (found != 0) state.SkipWithError("a miss matched");
  state.counters["patterns"] = static_cast<double>(m->pattern_count());
}
BENCHMARK(BM_Matcher_Miss4LabelsWith10kPatterns);

// --- naive baseline: unordered_set<string>, suffix by suffix ---------------------------

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

const std::unordered_set<std::string, StringHash, std::equal_to<>>& naive_set() {
  static auto s = [] {
    std::unordered_set<std::string, StringHash, std::equal_to<>> s;
    s.reserve(corpus().names.size());
    for (const auto& n : corpus().names) s.insert(n);
    return s;
  }();
  return s;
}

bool naive_lookup(const std::unordered_set<std::string, StringHash, std::equal_to<>>& s,
                  std::string_view name) {
  for (;;) {
    if (s.find(name) != s.end()) return true;
    const size_t dot = name.find('.');
    if (dot == std::string_view::npos) return false;
    name.remove_prefix(dot + 1);
  }
}

void BM_Naive_Build1M(benchmark::State& state) {
  const Corpus& c = corpus();
  size_t heap = 0;
  for (auto _ : state) {
    const size_t before = mallinfo2().uordblks;
    std::unordered_set<std::string, StringHash, std::equal_to<>> s;
    s.reserve(c.names.size());
    for (const auto& n : c.names) s.insert(n);
    heap = mallinfo2().uordblks - before;  // bytes in use on the heap: nodes, strings, buckets
    benchmark::DoNotOptimize(s.size());
  }
  state.counters["heap_MB"] = static_cast<double>(heap) / 1e6;
}
BENCHMARK(BM_Naive_Build1M)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Naive_SubdomainHit(benchmark::State& state) {
  const auto& s = naive_set();
  const Corpus& c = corpus();
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(naive_lookup(s, c.hit_text[i++ & 4095]));
}
BENCHMARK(BM_Naive_SubdomainHit);

void BM_Naive_Miss4Labels(benchmark::State& state) {
  const auto& s = naive_set();
  const Corpus& c = corpus();
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(naive_lookup(s, c.miss_text[i++ & 4095]));
}
BENCHMARK(BM_Naive_Miss4Labels);

// --- Hyperscan-only baseline: domains as anchored suffix literals ----------------------

struct HsOnly {
  hs_database_t* db = nullptr;
  hs_scratch_t* scratch = nullptr;
  double build_ms = 0;
  size_t bytes = 0;
  size_t names = 0;
};

const HsOnly& hs_only() {
  static HsOnly h = [] {
    HsOnly h;
    const auto& names = corpus().names;
    h.names = std::min(names.size(), env_size("SINKHOLE_BENCH_HS_NAMES", names.size()));
    std::vector<std::string> lits(h.names);
    std::vector<const char*> ptrs(h.names);
    std::vector<size_t> lens(h.names);
    std::vector<unsigned> flags(h.names, 0), ids(h.names);
    for (size_t i = 0; i < h.names; ++i) {
      lits[i] = "." + names[i];
      ptrs[i] = lits[i].c_str();
      lens[i] = lits[i].size();
      ids[i] = static_cast<unsigned>(i);
    }
    const auto t0 = std::chrono::steady_clock::now();
    hs_compile_error_t* err = nullptr;
    if (hs_compile_lit_multi(ptrs.data(), flags.data(), ids.data(), lens.data(),
                             static_cast<unsigned>(h.names), HS_MODE_BLOCK, nullptr, &h.db,
                             &err) != HS_SUCCESS) {
      std::fprintf(stderr, "hyperscan-only baseline: %s\n", err ? err->message : "failed");
      hs_free_compile_error(err);
      return h;
    }
    h.build_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    hs_database_size(h.db, &h.bytes);
    hs_alloc_scratch(h.db, &h.scratch);
    return h;
  }();
  return h;
}

int hs_suffix_match(unsigned, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  // Anchored suffix: only a literal that ends where the query ends counts.
  return to == *static_cast<size_t*>(ctx) ? 1 : 0;
}

bool hs_lookup(const HsOnly& h, const std::string& dotted) {
  size_t len = dotted.size();
  return hs_scan(h.db, dotted.data(), static_cast<unsigned>(len), 0, h.scratch, hs_suffix_match,
                 &len) == HS_SCAN_TERMINATED;
}

void BM_HyperscanOnly_Build(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(hs_only().db);
  state.counters["names"] = static_cast<double>(hs_only().names);
  state.counters["build_ms"] = hs_only().build_ms;
  state.counters["db_MB"] = static_cast<double>(hs_only().bytes) / 1e6;
}
BENCHMARK(BM_HyperscanOnly_Build)->Iterations(1);

void BM_HyperscanOnly_SubdomainHit(benchmark::State& state) {
  const HsOnly& h = hs_only();
  if (!h.db) return state.SkipWithError("no database");
  std::vector<std::string> dotted;
  for (const auto& t : corpus().hit_text) dotted.push_back("." + t);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hs_lookup(h, dotted[i++ & 4095]));
}
BENCHMARK(BM_HyperscanOnly_SubdomainHit);

void BM_HyperscanOnly_Miss4Labels(benchmark::State& state) {
  const HsOnly& h = hs_only();
  if (!h.db) return state.SkipWithError("no database");
  std::vector<std::string> dotted;
  for (const auto& t : corpus().miss_text) dotted.push_back("." + t);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(hs_lookup(h, dotted[i++ & 4095]));
}
BENCHMARK(BM_HyperscanOnly_Miss4Labels);

}  // namespace

BENCHMARK_MAIN();
