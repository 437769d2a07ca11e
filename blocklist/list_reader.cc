// SPDX-License-Identifier: MIT
#include "blocklist/list_reader.h"

#include <absl/container/flat_hash_map.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include "blocklist/formats/adblock.h"
#include "blocklist/formats/domains.h"
#include "blocklist/formats/hosts.h"
#include "blocklist/formats/line_splitter.h"
#include "blocklist/formats/patterns.h"
#include "blocklist/formats/reader_output.h"
#include "blocklist/formats/rpz.h"

namespace sinkhole::blocklist {
namespace {

// One bit per (scope, kind) pair already kept for a name: 3 scopes x 2 kinds.
uint8_t rule_bit(const DomainEntry& e) {
  return uint8_t(1u << (static_cast<unsigned>(e.scope) * 2 + static_cast<unsigned>(e.kind)));
}

void merge_domains(ParsedList& list) {
  std::vector<DomainEntry>& d = list.domains;
  // Keys view the names inside `d`; compaction below only moves an entry into a slot that is
  // never written again, so a view taken after the move stays valid.
  absl::flat_hash_map<std::string_view, uint8_t> seen;
  seen.reserve(d.size());
  size_t kept = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    auto it = seen.find(d[i].name);
    uint8_t bit = rule_bit(d[i]);
    if (it != seen.end() && (it->second & bit)) {
      ++list.stats.duplicates;
      continue;
    }
    if (kept != i) d[kept] = std::move(d[i]);
    if (it != seen.end()) {
      it->second |= bit;
    } else {
      seen.emplace(d[kept].name, bit);
    }
    ++kept;
  }
  d.resize(kept);
  list.stats.entries += seen.size();
}

void merge_patterns(ParsedList& list) {
  std::vector<PatternEntry>& p = list.patterns;
  absl::flat_hash_map<std::string_view, uint8_t> seen;
  size_t kept = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    auto it = seen.find(p[i].expression);
    uint8_t bit = uint8_t(1u << static_cast<unsigned>(p[i].kind));
    if (it != seen.end() && (it->second & bit)) {
      ++list.stats.duplicates;
      continue;
    }
    if (kept != i) p[kept] = std::move(p[i]);
    if (it != seen.end()) {
      it->second |= bit;
    } else {
      seen.emplace(p[kept].expression, bit);
    }
    ++kept;
  }
  p.resize(kept);
  list.stats.entries += seen.size();
}

bool read_whole_file(const std::string& path, std::string& out, std::string& error) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    error = std::strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fileno(f.get()), &st) != 0) {
    error = std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {  // fopen succeeds on a directory; say so plainly
    error = std::strerror(EISDIR);
    return false;
  }
  // One read into a buffer sized from the file: no per-line iostream work.
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.append(buf, n);
  if (std::ferror(f.get())) {
    error = std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

void merge_duplicates(ParsedList& list) {
  list.stats.entries = 0;
  merge_domains(list);
  merge_patterns(list);
  list.stats.rules = list.domains.size() + list.patterns.size();
}

ParsedList parse_list(std::string_view text, Format format, std::string source, DomainSink* sink) {
  ParsedList list;
  list.source = std::move(source);
  list.format = format;
  list.sink = sink;
  text = strip_bom(text);
  // Most lines of a domain or hosts list are entries: reserving by line count saves
  // regrowing (and copying) a vector of a million entries. Capped for the other formats, as
  // an AdBlock list can be mostly cosmetic rules and an RPZ zone has several lines a name.
  // A streamed list holds one chunk at a time (RPZ excepted: its reader indexes back).
  const size_t lines = std::count(text.begin(), text.end(), '\n') + 1;
  const bool one_name_a_line = format == Format::kDomains || format == Format::kHosts;
  constexpr size_t kMaxReserve = size_t{1} << 18;
  if (sink != nullptr) sink->expect(lines, text.size());
  if (sink != nullptr && format != Format::kRpz)
    list.domains.reserve(kStreamChunk);
  else
    list.domains.reserve(one_name_a_line ? lines : std::min(lines, kMaxReserve));
  switch (format) {
    case Format::kDomains:
      read_domains(text, list);
      break;
    case Format::kHosts:
      read_hosts(text, list);
      break;
    case Format::kAdblock:
      read_adblock(text, list);
      break;
    case Format::kRpz:
      read_rpz(text, list);
      break;
    case Format::kPatterns:
      read_patterns(text, list);
      break;
  }
  if (sink == nullptr) {
    merge_duplicates(list);
  } else {
    list.stats.entries = 0;
    merge_patterns(list);
    list.stats.rules = list.patterns.size();
    for (size_t first = 0; first < list.domains.size(); first += kStreamChunk) {
      const size_t n = std::min(kStreamChunk, list.domains.size() - first);
      sink->on_domains(std::span(list.domains).subspan(first, n),
                       list.streamed + static_cast<uint32_t>(first));
    }
    list.streamed += static_cast<uint32_t>(list.domains.size());
    std::vector<DomainEntry>().swap(list.domains);
    list.sink = nullptr;
  }
  return list;
}

ParsedList read_list_file(const std::string& path, Format format, DomainSink* sink) {
  std::string text;
  std::string error;
  if (!read_whole_file(path, text, error)) {
    ParsedList list;
    list.source = path;
    list.format = format;
    list.stats.rejects.push_back(Reject{0, "cannot read file: " + error});
    return list;
  }
  return parse_list(text, format, path, sink);
}

}  // namespace sinkhole::blocklist
