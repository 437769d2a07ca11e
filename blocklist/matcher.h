// SPDX-License-Identifier: MIT
// Matcher: the immutable object the resolver asks on every query, "which rule matches
// this name?". Made only by MatcherBuilder from one or more parsed lists; shared by all
// workers without locks (it never changes); each worker brings its own PatternScratch.
//
// Semantics
//   - A domain rule of scope kSubtree matches the name and all its subdomains, kExact the
//     name only, kSubdomains only names strictly below it.
//   - The most specific rule wins: the query's own name first, then each parent. At one
//     name, an exception beats a block. Pattern rules are consulted only when no domain
//     rule matched (they have no specificity of their own).
//   - When several lists hold the same rule, the first list added keeps it (first
//     provenance); later copies are counted as duplicates.
//   - Exceptions are returned as such (RuleKind::kException): the policy layer decides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blocklist/domain_table.h"
#include "blocklist/entry.h"
#include "blocklist/pattern_set.h"
#include "blocklist/rule.h"

namespace sinkhole::blocklist {

struct Match {
  Rule rule;
  uint8_t depth = 0;  // labels between the query name and the matching rule's name
};

struct ListInfo {
  std::string source;
  Format format = Format::kDomains;
  size_t domain_rules = 0;
  size_t pattern_rules = 0;
};

class Matcher {
 public:
  // `wire`: uncompressed wire name, any case. `scratch` is needed only when patterns
  // exist (pass nullptr otherwise). Allocates nothing.
  std::optional<Match> lookup(const uint8_t* wire, size_t len,
                              PatternScratch* scratch) const noexcept;
  // Presentation form ("www.Example.com" or with a trailing dot): tests and `explain`.
  std::optional<Match> lookup_text(std::string_view name, PatternScratch* scratch) const;

  const std::vector<ListInfo>& lists() const { return lists_; }
  size_t domain_rule_count() const { return domain_rules_; }
  size_t name_count() const { return domains_.size(); }
  size_t pattern_count() const { return patterns_.size(); }
  const PatternSet& patterns() const { return patterns_; }
  size_t memory_bytes() const;

 private:
  friend class MatcherBuilder;
  DomainTable domains_;
  PatternSet patterns_;
  size_t domain_rules_ = 0;
  std::vector<Rule> pattern_rules_;  // indexed by compiled expression id
  std::vector<ListInfo> lists_;
};

struct PatternError {
  uint16_t list = 0;
  std::string source;  // list path
  uint32_t line = 0;
  std::string pattern;
  std::string message;
  std::string to_string() const;  // "file:line: bad pattern '…': message"
};

class MatcherBuilder {
 public:
  MatcherBuilder();
  // Adds every rule of `list`; returns its list id.
  uint16_t add(const ParsedList& list);

  // The same in steps, for a list streamed by parse_list (DomainSink): begin_list, then
  // add_domains for every chunk, then add_patterns with the parsed result.
  uint16_t begin_list(const std::string& source, Format format);
  // A list begun before its format was known (inferred from its text once read).
  void set_format(uint16_t list, Format format) { m_->lists_[list].format = format; }
  // Sizes the tables for `names` more names of `name_bytes` in all (a hint; they grow).
  void reserve(size_t names, size_t name_bytes);
  void add_domains(uint16_t list, std::span<const DomainEntry> entries, uint32_t first);
  void add_patterns(uint16_t list, const std::vector<PatternEntry>& patterns);

  // What the builder kept of one list's domain entries: names it indexed first (a name
  // already indexed by an earlier list is not counted again), rules kept, rules dropped as
  // repeats of an identical earlier rule.
  struct DomainCounts {
    size_t names = 0;
    size_t rules = 0;
    size_t duplicates = 0;
  };
  const DomainCounts& domain_counts(uint16_t list) const { return counts_[list]; }

  // DomainSink::find_earlier for a sink feeding `list` into this builder: the rules of
  // `list` indexed so far for `name` (normalised presentation form) as the name itself
  // (`exact`) and for names below it (`below`).
  bool find_earlier(uint16_t list, std::string_view name, DomainSink::Earlier& exact,
                    DomainSink::Earlier& below) const;
  // DomainSink::indexes_all for such a sink: every domain entry handed to add_domains so
  // far is in the table (text_to_wire refused none) and it is the builder's only list (a
  // rule of another list could have taken a name's field first).
  bool indexed_all() const { return unindexed_ == 0 && counts_.size() == 1; }

  struct Result {
    std::shared_ptr<const Matcher> matcher;
    std::vector<PatternError> pattern_errors;
    size_t duplicates = 0;  // rules already present from an earlier list or line
  };
  Result build();

 private:
  // `wire`: the entry's name, lower-case wire form; `hash`: table_.hash() of it.
  void add_domain(const DomainEntry& e, uint16_t list, uint32_t index, const uint8_t* wire,
                  size_t len, uint64_t hash);

  std::unique_ptr<Matcher> m_;
  std::vector<DomainCounts> counts_;  // by list id
  DomainTable::Builder table_;
  std::vector<Rule> rules_;  // domain rules by index, until finish() copies them inline
  size_t duplicates_ = 0;
  size_t unindexed_ = 0;  // entries add_domains could not index
  std::vector<std::string> expressions_;
  std::vector<bool> exception_;
  std::vector<Rule> pending_patterns_;
  std::vector<std::string> pattern_sources_;
};

}  // namespace sinkhole::blocklist
