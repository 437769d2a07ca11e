// SPDX-License-Identifier: MIT
// The RPZ meaning of one resource record, kept apart from the ldns zone walk (rpz.cc) so the
// record-to-rule rules read as a table: which owner is which trigger, which CNAME target is
// which action, and how records of one trigger merge into one entry. See rpz.h for the table.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// One record, already relative to the zone apex and lower-cased. Views into the reader's
// buffers, valid during add().
struct RpzRecord {
  uint32_t line = 0;
  std::string_view trigger;  // owner minus the apex, e.g. "*.bad.example"
  uint16_t type = 0;         // LDNS_RR_TYPE_*
  uint32_t ttl = 0;
  std::string_view cname_target;   // CNAME only: absolute target without the final dot
  std::span<const uint8_t> rdata;  // wire form, for local data
  std::string_view source_line;    // for reject messages
};

// Turns records into DomainEntry values (QNAME triggers) and IpTriggerEntry values
// (rpz-client-ip, rpz-ip) in one ParsedList, merging per trigger.
//
// Memory (a 1M-name zone): triggers are indexed by name in a flat map whose keys view a
// name arena (one copy of each name, ~30 bytes) and whose values hold, per scope, the
// first record's line and action — not a DomainEntry per trigger. With out.sink set the
// entries stream to it in chunks like every other format, in file order, until the first
// local-data entry: later records of its trigger may still extend it, so from there on the
// entries stay in out.domains (a local-data zone holds its entries, as before; a zone of
// `CNAME .` rules, the 1M-name case, streams whole).
//
// With a sink that indexes what it takes (DomainSink::indexes_all: the matcher builder),
// the index here holds only the names not handed over yet: it is emptied after a flush once
// it holds kForgetAt names, and a name it does not hold is asked of the sink
// (find_earlier), which has the first line and action of every entry it took. Measured on
// a 1M-name zone: the full index was ~80 MB of the load's peak beside the builder's table
// of the same names, and its probe a DRAM miss a name like the sink's.
class RpzPolicyBuilder {
 public:
  explicit RpzPolicyBuilder(ParsedList& out);
  void add(const RpzRecord& record);
  // Sizes the trigger index once for about `names` names (a zone of `lines` lines has
  // about lines / 2: `name` and `*.name`), instead of rehashing it as it grows.
  void expect(size_t names);

 private:
  // The first record of a trigger: its action (3 bits, 0 = none yet) and line, packed in
  // 4 bytes (the index holds two per name; a line past 2^29 is noted as 2^29 - 1, which
  // only a "first at line" message shows).
  struct First {
    uint32_t bits = 0;
    ListAction action() const { return static_cast<ListAction>(bits & 7); }
    uint32_t line() const { return bits >> 3; }
    void set(uint32_t line, ListAction a) {
      bits = (std::min(line, (uint32_t{1} << 29) - 1) << 3) | static_cast<uint32_t>(a);
    }
  };
  struct Trigger {
    First exact, below;  // `name`, `*.name`
  };
  void merge(const First& first, const RpzRecord& record, ListAction action, Scope scope);
  // rpz-client-ip / rpz-ip triggers (IpTriggerEntry values in out_.ip_triggers).
  void add_ip(const RpzRecord& record, ListAction action, bool client);
  void merge_ip(IpTriggerEntry& first, const RpzRecord& record, ListAction action);
  std::string_view keep(std::string_view name);
  // A name not in by_name_: what the sink knows of it once by_name_ has been emptied.
  Trigger earlier(std::string_view name) const;
  // After a flush: empties by_name_ when the sink indexed everything handed over, keeping
  // `current` (the trigger of name_, whose entry is not handed over yet).
  void forget_handed_over(Trigger current);

  static constexpr size_t kArenaBlock = size_t{1} << 20;
  static constexpr size_t kForgetAt = size_t{1} << 16;
  // kStreamChunk and kForgetAt, or a few entries each (rpz_small_chunks_for_testing).
  size_t chunk_, forget_at_;

  ParsedList& out_;
  // address + length + family + kind byte -> index in out_.ip_triggers
  absl::flat_hash_map<std::string, size_t> ip_by_trigger_;
  absl::flat_hash_map<std::string_view, Trigger> by_name_;
  // Local-data triggers (name + scope byte) → their entry's index in out_.domains.
  absl::flat_hash_map<std::string, uint32_t> local_entry_;
  std::vector<std::unique_ptr<char[]>> arena_;  // by_name_'s keys
  size_t arena_left_ = 0;
  bool holding_ = false;       // a local-data entry is in out_.domains: flush no more
  bool forgot_ = false;        // by_name_ was emptied: the sink holds the names it lacks
  std::string name_, reason_;  // scratch
  // The trigger of the last name looked up (valid until the next insertion, which is the
  // next lookup: the map is sized once by expect(), and a rehash happens only inside
  // lazy_emplace, after which last_ is set again).
  Trigger* last_ = nullptr;
  std::string last_name_;
};

}  // namespace sinkhole::blocklist
