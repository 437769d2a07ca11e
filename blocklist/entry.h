// SPDX-License-Identifier: MIT
// The vocabulary shared by list readers and the matcher.
//
// Glossary
//   list      one file of one format (plain domains, hosts, AdBlock, RPZ, patterns)
//   entry     a name that survived parsing (normalised: lower case, no trailing dot,
//             IDNA as punycode)
//   rule      what the matcher applies: an entry with a scope. A domain-list entry is one
//             rule (the name and all its subdomains); an RPZ zone gives `name` (exact) and
//             `*.name` (subdomains only) as two rules.
//   exception an allow rule inside a block list (AdBlock `@@||name^`, RPZ passthru); the
//             policy layer decides that it wins.
//   provenance  list id + line number, carried to counters, logs and `explain`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sinkhole::blocklist {

enum class Format : uint8_t { kDomains, kHosts, kAdblock, kRpz, kPatterns };

// Which names a domain rule covers.
enum class Scope : uint8_t {
  kExact,       // the name only (RPZ `name`)
  kSubdomains,  // strictly below the name (RPZ `*.name`)
  kSubtree,     // the name and everything below it (domain lists, `||name^`)
};

enum class RuleKind : uint8_t { kBlock, kException };

// An action carried by the list itself (RPZ); kNone lets the policy choose.
enum class ListAction : uint8_t {
  kNone,
  kNxDomain,   // CNAME .
  kNoData,     // CNAME *.
  kPassthru,   // CNAME rpz-passthru.  (reported as an exception)
  kDrop,       // CNAME rpz-drop.
  kTcpOnly,    // CNAME rpz-tcp-only.
  kLocalData,  // A / AAAA / CNAME records to answer with
};

// One record of RPZ local data, rdata in wire form (a CNAME target as an uncompressed
// wire name).
struct LocalRecord {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::vector<uint8_t> rdata;
};

struct DomainEntry {
  std::string name;  // normalised presentation form, e.g. "xn--c-cc-8na.vn"
  Scope scope = Scope::kSubtree;
  RuleKind kind = RuleKind::kBlock;
  ListAction action = ListAction::kNone;
  uint32_t line = 0;               // 1-based line in the source file
  bool important = false;          // AdBlock $important: outranks exceptions
  std::vector<LocalRecord> local;  // for ListAction::kLocalData
};

// An RPZ IP trigger (rpz.h): `rpz-client-ip` (the query's source address) or `rpz-ip` (an
// address in the answer), as a network prefix. Kept apart from the domain entries: the
// matcher is a name table, these go into a longest-prefix table (policy/rpz_ip_triggers.h).
struct IpTriggerEntry {
  enum class Where : uint8_t { kClient, kAnswer };
  Where where = Where::kClient;
  uint8_t family = 4;              // 4 or 6
  uint8_t prefix = 0;              // 1..32 or 1..128
  std::array<uint8_t, 16> addr{};  // network order, IPv4 in [0..4); host bits zero
  RuleKind kind = RuleKind::kBlock;
  ListAction action = ListAction::kNone;
  uint32_t line = 0;
  std::vector<LocalRecord> local;  // for ListAction::kLocalData
};

// A regex (`/…/` lines) or wildcard (`*.bet*.com`) rule, compiled with Hyperscan.
struct PatternEntry {
  std::string expression;  // Hyperscan regex over the lower-case presentation name
  std::string source;      // the rule as written, for messages
  RuleKind kind = RuleKind::kBlock;
  uint32_t line = 0;
};

struct Reject {
  uint32_t line = 0;
  std::string reason;
};

struct ListStats {
  size_t lines = 0;                       // physical lines read
  size_t entries = 0;                     // distinct names that survived parsing
  size_t rules = 0;                       // domain rules + pattern rules kept
  size_t duplicates = 0;                  // rules merged into an earlier identical one
  std::map<std::string, size_t> skipped;  // reason → count (comments/blank not included)
  std::vector<Reject> rejects;            // invalid entries, each with its line
};

// Takes a list's domain entries while the list is read, in chunks, instead of letting them
// pile up in ParsedList::domains: a 1M-name list then never exists as a million
// DomainEntry objects (~110 MB) beside the table being built from it. Each entry arrives
// exactly once; `first` is the list-wide index of entries[0] (indexes are contiguous). The
// sink may move data out of the entries (RPZ local records).
class DomainSink {
 public:
  virtual ~DomainSink() = default;
  // Called once before reading: at most `lines` entries totalling `bytes` of names are
  // coming, so a builder can size its tables once instead of regrowing them.
  virtual void expect(size_t /*lines*/, size_t /*bytes*/) {}
  virtual void on_domains(std::span<DomainEntry> entries, uint32_t first) = 0;

  // For a reader that must know whether a name came earlier in the same list (RPZ: the
  // same trigger again is a duplicate, another action a conflict, each naming the first
  // record's line). A sink that indexes the entries it takes can answer for them, so the
  // reader indexes only what it has not handed over yet instead of every name a second
  // time (a 1M-name zone: ~80 MB of peak and one more DRAM miss a name). A sink that does
  // not index says false (the default) and the reader keeps its own index of every name.
  //
  // indexes_all: every entry handed over so far can be found (monotonic: once false, for
  // good). find_earlier: the entries of this list handed over for `name` (normalised), at
  // kExact and at kSubdomains scope: their line and action (kNone: no such entry); false
  // when neither exists. Only for readers whose entries have an action (RPZ).
  struct Earlier {
    uint32_t line = 0;
    ListAction action = ListAction::kNone;
  };
  virtual bool indexes_all() const { return false; }
  virtual bool find_earlier(std::string_view /*name*/, Earlier& /*exact*/,
                            Earlier& /*below*/) const {
    return false;
  }
};

struct ParsedList {
  std::string source;  // path or name used in messages
  Format format = Format::kDomains;
  std::vector<DomainEntry> domains;  // with a sink: only the chunk not handed over yet
  std::vector<PatternEntry> patterns;
  std::vector<IpTriggerEntry> ip_triggers;  // RPZ only
  ListStats stats;
  DomainSink* sink = nullptr;  // see DomainSink; set by parse_list
  uint32_t streamed = 0;       // entries already handed to the sink
};

const char* to_string(Format f);
bool parse_format(const std::string& text, Format& out);

}  // namespace sinkhole::blocklist
