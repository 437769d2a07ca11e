// SPDX-License-Identifier: MIT
#include "resolver/observe/policies_report.h"

#include <fmt/format.h>

namespace sinkhole::observe {

namespace {

using Json = nlohmann::ordered_json;

// Where the action of a block rule comes from, as PolicySnapshot::decide picks it.
struct RuleAction {
  std::string name;    // the action applied ("" when only an RPZ zone's rules decide)
  std::string kind;    // its type (sinkhole, nxdomain, ...)
  const char* source;  // "rule", "list" (the list's default), "default" (nxdomain), "rpz"
};

RuleAction rule_action(const policy::PolicySnapshot& snap, const policy::BlockRule& rule) {
  const policy::ListData& list = snap.lists[rule.list];
  auto named = [&](int32_t a, const char* source) {
    const policy::Action& action = snap.actions[static_cast<size_t>(a)];
    return RuleAction{action.name, policy::to_string(action.kind), source};
  };
  if (rule.action != policy::kNoAction) return named(rule.action, "rule");
  // An RPZ zone's rules carry their own actions; the list default (or nxdomain) serves the
  // rules that carry none.
  const char* fallback_source = list.format == blocklist::Format::kRpz ? "rpz" : nullptr;
  if (list.default_action != policy::kNoAction)
    return named(list.default_action, fallback_source ? fallback_source : "list");
  return named(snap.nxdomain, fallback_source ? fallback_source : "default");
}

std::string rule_action_text(const RuleAction& a) {
  const std::string what = a.name == a.kind ? a.name : fmt::format("{} ({})", a.name, a.kind);
  const std::string_view source = a.source;
  if (source == "rule") return what;
  if (source == "list") return what + ", the list's default action";
  if (source == "rpz") return "the zone's own rule actions, else " + what;
  return what + ", by default";
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// What a client in no policy gets.
std::string unmatched_text(const policy::PolicySnapshot& snap) {
  if (snap.default_policy == policy::kAllowAll)
    return "no policies: every client is served, nothing is blocked";
  if (snap.default_policy == policy::kRefuseClient)
    return "clients in no policy: REFUSED (no default_policy)";
  return "clients in no policy: policy " +
         snap.policies[static_cast<size_t>(snap.default_policy)].name + " (default_policy)";
}

}  // namespace

std::string policies_text(const policy::PolicySnapshot& snap) {
  std::string out = fmt::format(
      "generation {}: {} polic{}; a client gets the policy holding the longest prefix of its "
      "address, then allow lists are checked first, block rules in order (the first list "
      "that matches decides)\n",
      snap.generation, snap.policies.size(), snap.policies.size() == 1 ? "y" : "ies");
  for (size_t p = 0; p < snap.policies.size(); ++p) {
    const policy::Policy& pol = snap.policies[p];
    out += fmt::format("{}. policy {}{}\n", p + 1, pol.name,
                       static_cast<int32_t>(p) == snap.default_policy ? " (default_policy)" : "");
    out += fmt::format("   clients  {}\n", pol.clients.empty() ? "(none)" : joined(pol.clients));
    std::vector<std::string> allow;
    for (uint16_t l : pol.allow) allow.push_back(snap.lists[l].name);
    out += fmt::format("   allow    {}\n", allow.empty() ? "(none)" : joined(allow));
    if (pol.block.empty()) out += "   block    (none)\n";
    for (size_t r = 0; r < pol.block.size(); ++r) {
      const policy::BlockRule& rule = pol.block[r];
      const policy::ListData& list = snap.lists[rule.list];
      out += fmt::format("   {:<9}{}. {} (category {}): {}\n", r == 0 ? "block" : "", r + 1,
                         list.name, list.category, rule_action_text(rule_action(snap, rule)));
    }
  }
  return out + unmatched_text(snap) + "\n";
}

Json policies_json(const policy::PolicySnapshot& snap) {
  Json policies = Json::array();
  for (size_t p = 0; p < snap.policies.size(); ++p) {
    const policy::Policy& pol = snap.policies[p];
    Json allow = Json::array();
    for (uint16_t l : pol.allow)
      allow.push_back({{"list", snap.lists[l].name}, {"category", snap.lists[l].category}});
    Json block = Json::array();
    for (const policy::BlockRule& rule : pol.block) {
      const RuleAction a = rule_action(snap, rule);
      block.push_back({{"list", snap.lists[rule.list].name},
                       {"category", snap.lists[rule.list].category},
                       {"action", a.name},
                       {"action_type", a.kind},
                       {"action_from", a.source}});
    }
    policies.push_back({{"name", pol.name},
                        {"default", static_cast<int32_t>(p) == snap.default_policy},
                        {"clients", pol.clients},
                        {"allow", std::move(allow)},
                        {"block", std::move(block)}});
  }
  Json unmatched;
  if (snap.default_policy == policy::kAllowAll)
    unmatched = "allowed";
  else if (snap.default_policy == policy::kRefuseClient)
    unmatched = "refused";
  else
    unmatched = snap.policies[static_cast<size_t>(snap.default_policy)].name;
  return {{"generation", snap.generation},
          {"policies", std::move(policies)},
          {"unmatched_clients", std::move(unmatched)}};
}

}  // namespace sinkhole::observe
