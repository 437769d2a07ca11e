// SPDX-License-Identifier: MIT
// The RPZ meaning of one resource record, kept apart from the ldns zone walk (rpz.cc) so the
// record-to-rule rules read as a table: which owner is which trigger, which CNAME target is
// which action, and how records of one trigger merge into one entry. See rpz.h for the table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// One record, already relative to the zone apex and lower-cased.
struct RpzRecord {
  uint32_t line = 0;
  std::string_view trigger;  // owner minus the apex, e.g. "*.bad.example"
  uint16_t type = 0;         // LDNS_RR_TYPE_*
  uint32_t ttl = 0;
  std::string_view cname_target;  // CNAME only: absolute target without the final dot
  std::vector<uint8_t> rdata;     // wire form, for local data
  std::string_view source_line;   // for reject messages
};

// Turns records into DomainEntry values (QNAME triggers) and IpTriggerEntry values
// (rpz-client-ip, rpz-ip) in one ParsedList, merging per trigger.
class RpzPolicyBuilder {
 public:
  explicit RpzPolicyBuilder(ParsedList& out) : out_(out) {}
  void add(RpzRecord record);

 private:
  void add_ip(RpzRecord& record, ListAction action, bool client);
  // `first_*`: the entry the trigger already has (domain or IP).
  void merge(ListAction first_action, uint32_t first_line, std::vector<LocalRecord>& first_local,
             const RpzRecord& record, ListAction action);

  ParsedList& out_;
  // normalised name + scope byte -> index in out_.domains; address + length + family +
  // kind byte -> index in out_.ip_triggers
  absl::flat_hash_map<std::string, size_t> by_trigger_;
};

}  // namespace sinkhole::blocklist
