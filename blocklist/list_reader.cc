// SPDX-License-Identifier: MIT
#include "blocklist/list_reader.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <utility>

#include "blocklist/formats/adblock.h"
#include "blocklist/formats/domains.h"
#include "blocklist/formats/hosts.h"
#include "blocklist/formats/line_splitter.h"
#include "blocklist/formats/patterns.h"
#include "blocklist/formats/reader_output.h"
#include "blocklist/formats/rpz.h"
#include "util/read_file.h"

namespace sinkhole::blocklist {
namespace {

// Rules of a list merge on a key, and are told apart by one bit per kind of rule: domains by
// scope and kind (3 x 2 bits), patterns by kind.
std::string_view merge_key(const DomainEntry& e) {
  return e.name;
}
uint8_t rule_bit(const DomainEntry& e) {
  return uint8_t(1u << (static_cast<unsigned>(e.scope) * 2 + static_cast<unsigned>(e.kind)));
}
std::string_view merge_key(const PatternEntry& e) {
  return e.expression;
}
uint8_t rule_bit(const PatternEntry& e) {
  return uint8_t(1u << static_cast<unsigned>(e.kind));
}

// Keeps the first rule of each (key, bit) pair, in order, and counts the others as
// duplicates; distinct keys count as entries.
template <typename Entry>
void merge(std::vector<Entry>& v, ListStats& stats) {
  // Keys view the strings inside `v`; compaction below only moves an entry into a slot that
  // is never written again, so a view taken after the move stays valid.
  absl::flat_hash_map<std::string_view, uint8_t> seen;
  seen.reserve(v.size());
  size_t kept = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    auto it = seen.find(merge_key(v[i]));
    const uint8_t bit = rule_bit(v[i]);
    if (it != seen.end() && (it->second & bit)) {
      ++stats.duplicates;
      continue;
    }
    if (kept != i) v[kept] = std::move(v[i]);
    if (it != seen.end())
      it->second |= bit;
    else
      seen.emplace(merge_key(v[kept]), bit);
    ++kept;
  }
  v.resize(kept);
  stats.entries += seen.size();
}

}  // namespace

void merge_duplicates(ParsedList& list) {
  list.stats.entries = 0;
  merge(list.domains, list.stats);
  merge(list.patterns, list.stats);
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
  // A streamed list holds one chunk at a time.
  const size_t lines = std::count(text.begin(), text.end(), '\n') + 1;
  const bool one_name_a_line = format == Format::kDomains || format == Format::kHosts;
  constexpr size_t kMaxReserve = size_t{1} << 18;
  // An RPZ zone has about two records a name (`name` and `*.name`): sizing the table for
  // a name a line would touch twice the slots it needs.
  if (sink != nullptr)
    sink->expect(format == Format::kRpz ? lines / 2 + 1 : lines,
                 format == Format::kRpz ? text.size() / 2 : text.size());
  if (sink != nullptr)
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
    merge(list.patterns, list.stats);
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
  return read_list_file(path, &format, sink, nullptr);
}

ParsedList read_list_file(const std::string& path, const Format* format, DomainSink* sink,
                          FormatChoice* chosen) {
  std::string error;
  const auto text = util::read_regular_file(path, &error);
  FormatChoice choice;
  if (format)
    choice.format = *format;
  else
    choice = infer_format(text ? std::string_view(*text) : std::string_view{}, path);
  if (chosen) *chosen = choice;
  if (!text) {
    ParsedList list;
    list.source = path;
    list.format = choice.format;
    list.stats.rejects.push_back(Reject{0, "cannot read file: " + error});
    return list;
  }
  return parse_list(*text, choice.format, path, sink);
}

}  // namespace sinkhole::blocklist
