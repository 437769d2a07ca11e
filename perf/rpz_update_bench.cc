// SPDX-License-Identifier: MIT
// Issue 14, the builder side of a list update (per-list rebuilds, the RPZ fast path):
//   1. a 1,000,000-name RPZ zone (`name CNAME .` + `*.name CNAME .`, as the shared zones
//      and vendor feeds are written): full load through build_snapshot — time, peak RSS
//      during the build, RSS once built (steady);
//   2. the RPZ reader alone on that zone: fast path vs every record through ldns;
//   3. a reload of every shared real list + the 1M zone where one small list changed:
//      with the serving snapshot (unchanged lists reused) vs everything rebuilt;
//   4. the 1M zone after 1,000 additions and 1,000 removals: the reload that rebuilds it
//      (the other lists reused).
// Peak RSS is VmHWM, reset before each step (/proc/self/clear_refs, "5").
// Run: build/perf/rpz_update_bench [names] [last step]   (SINKHOLE_BLOCKLISTS: the shared
// lists dir; "last step" 2 stops after the reader alone, 1 after the full load: for
// profiling the 1M load)
#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "blocklist/formats/rpz.h"
#include "blocklist/list_reader.h"
#include "policy/snapshot_builder.h"
#include "util/read_file.h"

namespace fs = std::filesystem;
using namespace sinkhole;

namespace {

size_t status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::strtoull(line.c_str() + std::strlen(key), nullptr, 10);
  return 0;
}
double mb(size_t kb) {
  return static_cast<double>(kb) / 1024.0;
}
void reset_peak() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

std::string shared_dir() {
  if (const char* v = std::getenv("SINKHOLE_BLOCKLISTS")) return v;
  for (const char* c : {SINKHOLE_SHARED_BLOCKLISTS, "/work/shared/data/blocklists"})
    if (fs::exists(fs::path(c) / "README.md")) return c;
  return SINKHOLE_SHARED_BLOCKLISTS;
}

std::string name_of(size_t i) {
  // Distinct, realistic-length names (~28 bytes), spread over a few "domains".
  const uint64_t h = (i * 0x9E3779B97F4A7C15ull) >> 40;
  char buf[64];
  std::snprintf(buf, sizeof buf, "n%07zu-%06llx.example%zu.com", i,
                static_cast<unsigned long long>(h), i % 97);
  return buf;
}

void write_zone(const fs::path& path, size_t first, size_t count, size_t skip_every = 0) {
  std::string z =
      "$TTL 300\n@ SOA localhost. root.localhost. 1 3600 600 86400 300\n  NS localhost.\n";
  z.reserve(count * 80);
  for (size_t i = first; i < first + count; ++i) {
    if (skip_every && i % skip_every == 0) continue;
    const std::string n = name_of(i);
    z += n + " CNAME .\n*." + n + " CNAME .\n";
  }
  std::ofstream(path, std::ios::binary) << z;
}

struct Step {
  double seconds = 0;
  double cpu = 0;
  double peak_mb = 0;
  policy::BuildResult result;
};

// CPU time of the process: on a loaded machine (the 2 cores are shared) wall time says
// more about the neighbours than about the build, which runs on one thread.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One build, printed as "label: wall, CPU, peak RSS — summary".
Step build(const fs::path& config, uint64_t gen, const policy::BuildResult* serving,
           const char* label) {
  policy::BuildOptions options;
  if (serving) {
    options.serving = serving->snapshot;
    options.serving_entries = policy::entries_by_list(*serving->snapshot);
  }
  reset_peak();
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_seconds();
  Step s;
  s.result = policy::build_snapshot_from_file(config.string(), gen, nullptr, options);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.cpu = cpu_seconds() - c0;
  s.peak_mb = mb(status_kb("VmHWM:"));
  if (!s.result.snapshot) {
    for (const auto& e : s.result.errors) std::fprintf(stderr, "error: %s\n", e.c_str());
    std::exit(1);
  }
  std::printf("%s: %.3f s (CPU %.3f s), peak RSS %.0f MB — %s\n", label, s.seconds, s.cpu,
              s.peak_mb, s.result.summary.c_str());
  return s;
}

class Discard final : public blocklist::DomainSink {
 public:
  void on_domains(std::span<blocklist::DomainEntry> entries, uint32_t) override {
    n += entries.size();
  }
  size_t n = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const size_t names = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const fs::path dir = fs::temp_directory_path() / ("rpz_update_bench." + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path zone = dir / "big.rpz";
  write_zone(zone, 0, names);
  std::printf("zone: %zu names, %.1f MB\n", names, fs::file_size(zone) / 1e6);

  // 1. The 1M zone alone.
  const fs::path one = dir / "one.yaml";
  std::ofstream(one) << "lists:\n  big: { path: " << zone.string()
                     << ", format: rpz }\npolicies:\n  - name: all\n    clients: [\"0.0.0.0/0\"]\n"
                        "    block: [big]\n";
  const size_t base_kb = status_kb("VmRSS:");
  double full_s = 0, full_peak = 0, steady = 0;
  {
    Step s = build(one, 1, nullptr, "1. full load of the 1M zone");
    malloc_trim(0);
    full_s = s.seconds;
    full_peak = s.peak_mb;
    steady = mb(status_kb("VmRSS:"));
    std::printf("   steady RSS %.0f MB (process before: %.0f MB)\n", steady, mb(base_kb));
  }
  malloc_trim(0);
  if (argc > 2 && std::strtoul(argv[2], nullptr, 10) < 2) {
    fs::remove_all(dir);
    return 0;
  }

  // 2. The reader alone.
  {
    const auto text = util::read_file(zone.string(), nullptr);
    for (bool fast : {true, false}) {
      blocklist::ParsedList out;
      Discard sink;
      out.sink = &sink;
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      blocklist::read_rpz(*text, out, fast);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("2. read_rpz %s: %.3f s (CPU %.3f s; %zu entries streamed, %zu rejects)\n",
                  fast ? "fast path" : "ldns only", s, cpu_seconds() - c0,
                  sink.n + out.domains.size(), out.stats.rejects.size());
    }
  }
  malloc_trim(0);
  if (argc > 2 && std::strtoul(argv[2], nullptr, 10) < 3) {
    fs::remove_all(dir);
    return 0;
  }

  // 3. Every shared list + the zone; one small list changes.
  const fs::path shared = shared_dir();
  const fs::path small = dir / "small.domains";
  fs::copy_file(shared / "ut1/drogue.domains", small);
  const fs::path all = dir / "all.yaml";
  {
    std::ofstream y(all);
    y << "lists:\n  big: { path: " << zone.string() << ", format: rpz }\n";
    y << "  small: { path: " << small.string() << ", format: domains }\n";
    size_t k = 0;
    for (const auto& e : fs::recursive_directory_iterator(shared)) {
      if (!e.is_regular_file()) continue;
      const std::string ext = e.path().extension().string();
      const char* format = ext == ".hosts"                      ? "hosts"
                           : ext == ".adblock"                  ? "adblock"
                           : ext == ".rpz"                      ? "rpz"
                           : ext == ".txt" || ext == ".domains" ? "domains"
                                                                : nullptr;
      if (!format) continue;
      y << "  l" << k++ << ": { path: " << e.path().string() << ", format: " << format << " }\n";
    }
    y << "policies:\n  - name: all\n    clients: [\"0.0.0.0/0\"]\n    block: [big, small";
    for (size_t i = 0; i < k; ++i) y << ", l" << i;
    y << "]\n";
  }
  Step first = build(all, 1, nullptr, "3. all shared lists + 1M zone, first load");
  std::ofstream(small, std::ios::app) << "added-by-bench.example\n";
  Step rebuilt = build(all, 2, nullptr, "   one small list changed, everything rebuilt");
  const double rebuilt_s = rebuilt.seconds;
  rebuilt = {};
  malloc_trim(0);
  std::ofstream(small, std::ios::app) << "added-again.example\n";
  Step reused = build(all, 3, &first.result, "   one small list changed, unchanged lists reused");

  // 4. 1,000 additions and 1,000 removals on the 1M zone.
  write_zone(zone, 1000, names);  // names 0..999 removed, names .. names+999 added
  Step delta = build(all, 4, &reused.result,
                     "4. 1M zone after 1,000 additions + 1,000 removals (others reused)");
  // 5. The shared lists alone (no 1M zone), one small list changed.
  {
    std::ifstream in(all);
    std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    yaml.erase(yaml.find("  big:"), yaml.find("  small:") - yaml.find("  big:"));
    yaml.replace(yaml.find("[big, "), 6, "[");
    const fs::path shared_only = dir / "shared.yaml";
    std::ofstream(shared_only) << yaml;
    Step s1 = build(shared_only, 10, nullptr, "5. shared lists only, first load");
    std::ofstream(small, std::ios::app) << "added-a-third-time.example\n";
    build(shared_only, 11, nullptr, "   one small list changed, everything rebuilt");
    std::ofstream(small, std::ios::app) << "added-a-fourth-time.example\n";
    build(shared_only, 12, &s1.result, "   one small list changed, unchanged lists reused");
  }
  std::printf(
      "summary: full %.3f s peak %.0f MB steady %.0f MB | small change: rebuilt %.3f s "
      "vs reused %.3f s | 1M delta %.3f s\n",
      full_s, full_peak, steady, rebuilt_s, reused.seconds, delta.seconds);
  fs::remove_all(dir);
  return 0;
}
