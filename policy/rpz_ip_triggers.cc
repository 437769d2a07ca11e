// SPDX-License-Identifier: MIT
#include "policy/rpz_ip_triggers.h"

#include <arpa/inet.h>

#include <cstring>

namespace sinkhole::policy {

std::shared_ptr<const RpzIpTriggers> RpzIpTriggers::build(
    std::vector<blocklist::IpTriggerEntry>& entries, LocalData& local, size_t& duplicates) {
  if (entries.empty()) return nullptr;
  auto out = std::make_shared<RpzIpTriggers>();
  ClientGroups::Builder client, answer;
  for (auto& e : entries) {
    IpRule r;
    r.prefix.family = e.family == 4 ? AF_INET : AF_INET6;
    r.prefix.addr = e.addr;
    r.prefix.prefix = e.prefix;
    r.client = e.where == blocklist::IpTriggerEntry::Where::kClient;
    const auto index = static_cast<uint32_t>(out->rules_.size());
    std::string error;
    if (!(r.client ? client : answer).add(r.prefix, index, &error)) {
      ++duplicates;
      continue;
    }
    r.rule.line = e.line;
    r.rule.entry = kIpTriggerEntry | index;
    r.rule.kind = e.kind;
    r.rule.action = e.action;
    if (!e.local.empty()) local.emplace(r.rule.entry, std::move(e.local));
    (r.client ? out->has_client_ : out->has_answer_) = true;
    out->rules_.push_back(r);
  }
  out->client_ = client.build();
  out->answer_ = answer.build();
  return out;
}

const IpRule* RpzIpTriggers::match_client(const sockaddr* client) const noexcept {
  return has_client_ ? at(client_.lookup(client)) : nullptr;
}

const IpRule* RpzIpTriggers::match_answer_v4(const uint8_t* addr4) const noexcept {
  uint32_t network_order;
  std::memcpy(&network_order, addr4, 4);
  return at(answer_.lookup_v4(ntohl(network_order)));
}

const IpRule* RpzIpTriggers::match_answer_v6(const uint8_t* addr16) const noexcept {
  return at(answer_.lookup_v6(addr16));
}

}  // namespace sinkhole::policy
