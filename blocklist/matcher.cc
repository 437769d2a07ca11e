// SPDX-License-Identifier: MIT
#include "blocklist/matcher.h"

#include <fmt/format.h>
#include <sys/random.h>
#include <algorithm>

#include "resolver/dns/name.h"

namespace sinkhole::blocklist {

namespace {

uint64_t random_seed() {
  uint64_t seed = 0x5eed5eed5eed5eedull;
  if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed ^= reinterpret_cast<uintptr_t>(&seed);
  return seed;
}

// Lower-case presentation form without the trailing dot, for Hyperscan.
size_t wire_to_scan_text(const uint8_t* wire, size_t len, char* out) {
  size_t n = 0;
  size_t pos = 0;
  while (pos < len && wire[pos] != 0) {
    const size_t label = wire[pos];
    if (n) out[n++] = '.';
    for (size_t i = 1; i <= label && pos + i < len; ++i)
      out[n++] = static_cast<char>(dns::ascii_lower(wire[pos + i]));
    pos += 1 + label;
  }
  return n;
}

}  // namespace

std::optional<Match> Matcher::lookup(const uint8_t* wire, size_t len,
                                     PatternScratch* scratch) const noexcept {
  const DomainHit hit = domains_.lookup(wire, len);
  if (hit.rule) return Match{*hit.rule, hit.depth};
  if (patterns_.empty() || scratch == nullptr) return std::nullopt;
  char text[dns::kMaxNameWire];
  const size_t n = wire_to_scan_text(wire, len, text);
  const uint32_t id = patterns_.scan(text, n, *scratch);
  if (id == PatternSet::kNoMatch) return std::nullopt;
  return Match{pattern_rules_[id], 0};
}

std::optional<Match> Matcher::lookup_text(std::string_view name, PatternScratch* scratch) const {
  if (!name.empty() && name.back() == '.' && name.size() > 1) name.remove_suffix(1);
  uint8_t wire[dns::kMaxNameWire];
  const size_t len = dns::text_to_wire(name, wire);
  if (len == 0) return std::nullopt;
  return lookup(wire, len, scratch);
}

size_t Matcher::memory_bytes() const {
  return domains_.memory_bytes() + patterns_.memory_bytes() +
         pattern_rules_.capacity() * sizeof(Rule);
}

std::string PatternError::to_string() const {
  return fmt::format("{}:{}: bad pattern '{}': {}", source, line, pattern, message);
}

MatcherBuilder::MatcherBuilder() : m_(std::make_unique<Matcher>()), table_(random_seed()) {}

uint16_t MatcherBuilder::add(const ParsedList& list) {
  const uint16_t id = begin_list(list.source, list.format);
  size_t arena = 0;
  for (const auto& e : list.domains) arena += e.name.size() + 3;
  reserve(list.domains.size(), arena);
  add_domains(id, list.domains, 0);
  add_patterns(id, list.patterns);
  return id;
}

uint16_t MatcherBuilder::begin_list(const std::string& source, Format format) {
  const auto id = static_cast<uint16_t>(m_->lists_.size());
  m_->lists_.push_back({source, format, 0, 0});
  counts_.emplace_back();
  return id;
}

void MatcherBuilder::reserve(size_t names, size_t name_bytes) {
  table_.reserve(names, name_bytes);
  if (rules_.capacity() < rules_.size() + names) {
    rules_.reserve(rules_.size() + names);
    advise_huge_pages(rules_.data(), rules_.capacity() * sizeof(Rule));
  }
}

void MatcherBuilder::add_domains(uint16_t list, std::span<const DomainEntry> entries,
                                 uint32_t first) {
  // In batches: every name is converted and hashed and its slot prefetched before the
  // batch is inserted, so the slots' DRAM misses overlap instead of following each other
  // (the insert pass of a 1M-name list was mostly waiting on them).
  constexpr size_t kBatch = 16;
  uint8_t wires[kBatch][dns::kMaxNameWire];
  size_t lens[kBatch];
  uint64_t hashes[kBatch];
  for (size_t start = 0; start < entries.size(); start += kBatch) {
    const size_t count = std::min(kBatch, entries.size() - start);
    for (size_t j = 0; j < count; ++j) {
      lens[j] = dns::text_to_wire(entries[start + j].name, wires[j]);
      for (size_t k = 0; k < lens[j]; ++k) wires[j][k] = dns::ascii_lower(wires[j][k]);
      if (lens[j] == 0) continue;
      hashes[j] = table_.hash(wires[j], lens[j]);
      table_.prefetch(hashes[j]);
    }
    for (size_t j = 0; j < count; ++j) {
      if (lens[j] == 0) {  // readers only hand over valid names; nothing to index
        ++unindexed_;
        continue;
      }
      add_domain(entries[start + j], list, first + static_cast<uint32_t>(start + j), wires[j],
                 lens[j], hashes[j]);
    }
  }
}

bool MatcherBuilder::find_earlier(uint16_t list, std::string_view name, DomainSink::Earlier& exact,
                                  DomainSink::Earlier& below) const {
  exact = below = {};
  uint8_t wire[dns::kMaxNameWire];
  const size_t len = dns::text_to_wire(name, wire);
  if (len == 0) return false;
  for (size_t k = 0; k < len; ++k) wire[k] = dns::ascii_lower(wire[k]);
  DomainTable::Builder::Existing at;
  if (!table_.find(wire, len, table_.hash(wire, len), at)) return false;
  auto take = [&](uint32_t id, DomainSink::Earlier& out) {
    if (id == kNoRule || rules_[id].list != list) return false;
    out = {rules_[id].line, rules_[id].action};
    return true;
  };
  const bool e = take(at.exact, exact);
  const bool b = take(at.below, below);
  return e || b;
}

void MatcherBuilder::add_patterns(uint16_t id, const std::vector<PatternEntry>& patterns) {
  for (uint32_t i = 0; i < patterns.size(); ++i) {
    const PatternEntry& p = patterns[i];
    expressions_.push_back(p.expression);
    exception_.push_back(p.kind == RuleKind::kException);
    pending_patterns_.push_back(Rule{p.line, i, id, p.kind, ListAction::kNone, true, false});
    pattern_sources_.push_back(p.source);
  }
  m_->lists_[id].pattern_rules = patterns.size();
}

void MatcherBuilder::add_domain(const DomainEntry& e, uint16_t list, uint32_t index,
                                const uint8_t* wire, size_t len, uint64_t hash) {
  const auto rule_id = static_cast<uint32_t>(rules_.size());
  const Rule rule{e.line, index, list, e.kind, e.action, false, e.important};
  const bool wants_exact = e.scope != Scope::kSubdomains;
  const bool wants_below = e.scope != Scope::kExact;

  auto at = table_.find_or_insert(wire, len, hash);
  DomainCounts& counts = counts_[list];
  if (at.exact == kNoRule && at.below == kNoRule) ++counts.names;
  // A field takes the new rule when it is free, or when the new rule is an exception
  // and the field holds a block: at equal specificity the exception wins.
  auto takes = [&](uint32_t current) {
    if (current == kNoRule) return true;
    return e.kind == RuleKind::kException && rules_[current].kind == RuleKind::kBlock;
  };
  uint32_t exact = at.exact, below = at.below;
  bool used = false;
  if (wants_exact && takes(exact)) exact = rule_id, used = true;
  if (wants_below && takes(below)) below = rule_id, used = true;
  if (!used) {
    ++duplicates_;
    ++counts.duplicates;
    return;
  }
  ++counts.rules;
  rules_.push_back(rule);
  ++m_->domain_rules_;
  table_.set(at, exact, below);
  ++m_->lists_[list].domain_rules;
}

MatcherBuilder::Result MatcherBuilder::build() {
  Result r;
  m_->domains_ = table_.finish(rules_);
  rules_ = {};
  std::vector<PatternSet::Error> errors;
  m_->patterns_ = PatternSet::compile(expressions_, exception_, errors);
  for (const auto& err : errors) {
    if (err.index >= pending_patterns_.size()) {
      r.pattern_errors.push_back({0, "", 0, "", err.message});
      continue;
    }
    const Rule& rule = pending_patterns_[err.index];
    r.pattern_errors.push_back({rule.list, m_->lists_[rule.list].source, rule.line,
                                pattern_sources_[err.index], err.message});
    --m_->lists_[rule.list].pattern_rules;
  }
  m_->pattern_rules_ = std::move(pending_patterns_);
  r.duplicates = duplicates_;
  r.matcher = std::move(m_);
  return r;
}

}  // namespace sinkhole::blocklist
