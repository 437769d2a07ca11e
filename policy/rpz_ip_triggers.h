// SPDX-License-Identifier: MIT
// RpzIpTriggers: one RPZ list's IP triggers compiled for lookup — `rpz-client-ip` rules
// (the query's source address) and `rpz-ip` rules (an A/AAAA of the upstream's answer),
// each a longest-prefix match table (policy/client_groups.h: the value is the rule's index
// in `rules`). The precedence between these and the QNAME rules is the snapshot's
// (policy/snapshot.h, "RPZ precedence").
//
// Built once per list on the reload thread (build()), then immutable and shared by every
// worker without locks; the lookups are noexcept and allocate nothing.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "blocklist/entry.h"
#include "blocklist/rule.h"
#include "policy/cidr.h"
#include "policy/client_groups.h"

namespace sinkhole::policy {

// The bit of Rule::entry / Verdict::entry that marks an IP trigger; the bits below are the
// index in RpzIpTriggers::rules. A domain list never has 2^31 entries (max_entries).
inline constexpr uint32_t kIpTriggerEntry = 0x80000000;

struct IpRule {
  Cidr prefix;
  bool client = false;   // rpz-client-ip; false: rpz-ip
  blocklist::Rule rule;  // line, entry (kIpTriggerEntry | index), kind, the RPZ action
};

class RpzIpTriggers {
 public:
  using LocalData = absl::flat_hash_map<uint32_t, std::vector<blocklist::LocalRecord>>;

  // Null when `entries` is empty. Local data moves into `local` under the rule's entry
  // number. An IPv6 prefix that names the same IPv4 prefix as an earlier rule
  // (::ffff:192.0.2.1/128 and 192.0.2.1/32) is the same trigger: counted in `duplicates`.
  static std::shared_ptr<const RpzIpTriggers> build(std::vector<blocklist::IpTriggerEntry>& entries,
                                                    LocalData& local, size_t& duplicates);

  bool has_client() const { return has_client_; }
  bool has_answer() const { return has_answer_; }
  size_t size() const { return rules_.size(); }
  const IpRule& rule(uint32_t entry) const { return rules_[entry & ~kIpTriggerEntry]; }

  // The longest listed prefix holding the address; null when none does.
  const IpRule* match_client(const sockaddr* client) const noexcept;
  const IpRule* match_answer_v4(const uint8_t* addr4) const noexcept;   // network order
  const IpRule* match_answer_v6(const uint8_t* addr16) const noexcept;  // network order

 private:
  const IpRule* at(uint32_t index) const noexcept {
    return index == ClientGroups::kNoGroup ? nullptr : &rules_[index];
  }

  std::vector<IpRule> rules_;
  ClientGroups client_;
  ClientGroups answer_;
  bool has_client_ = false;
  bool has_answer_ = false;
};

}  // namespace sinkhole::policy
