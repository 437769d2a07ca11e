// SPDX-License-Identifier: MIT
#include "resolver/observe/explain_report.h"

#include <fmt/format.h>

namespace sinkhole::observe {

using Outcome = policy::Explanation::Outcome;

const char* verdict_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAllowed:
      return "allowed";
    case Outcome::kAllowListed:
      return "allow-listed";
    case Outcome::kException:
      return "exception";
    case Outcome::kBlocked:
      return "blocked";
    case Outcome::kMonitored:
      return "monitored";
    case Outcome::kRefusedClient:
      return "refused-client";
    case Outcome::kNoPolicies:
      return "no-policies";
    case Outcome::kInvalidName:
      return "invalid-name";
  }
  return "allowed";
}

std::string explain_text(const policy::Explanation& e) {
  const std::string who =
      e.client.empty() ? (e.policy.empty() ? std::string("no client given")
                                           : "no client given, policy " + e.policy)
                       : "client " + e.client + (e.policy.empty() ? "" : ", policy " + e.policy);
  const std::string where = fmt::format("list {} (category {}) at {}:{}, rule {}", e.list,
                                        e.category, e.file, e.line, e.rule);
  switch (e.outcome) {
    case Outcome::kAllowed:
      return fmt::format("{}: allowed, no rule ({})\n", e.name, who);
    case Outcome::kAllowListed:
      return fmt::format("{}: allowed by allow {} ({})\n", e.name, where, who);
    case Outcome::kException:
      return fmt::format("{}: allowed by an exception in {} ({})\n", e.name, where, who);
    case Outcome::kBlocked:
      return fmt::format("{}: BLOCKED by {}\n  action {}{}\n  ({})\n", e.name, where, e.action,
                         e.ede_text.empty() ? "" : ", EDE text \"" + e.ede_text + "\"", who);
    case Outcome::kMonitored:
      return fmt::format("{}: monitored (answered normally, counted) by {}, action {} ({})\n",
                         e.name, where, e.action, who);
    case Outcome::kRefusedClient:
      return fmt::format("{}: REFUSED: {} is in no policy's networks\n", e.name, who);
    case Outcome::kNoPolicies:
      return fmt::format("{}: allowed: no policies are configured (plain forwarder)\n", e.name);
    case Outcome::kInvalidName:
      return fmt::format("{}: not a valid name: {}\n", e.name, e.reason);
  }
  return {};
}

nlohmann::ordered_json explain_json(const policy::Explanation& e, Audience audience) {
  nlohmann::ordered_json j = {{"name", e.name},
                              {"verdict", verdict_name(e.outcome)},
                              {"client", e.client},
                              {"policy", e.policy}};
  if (!e.list.empty()) {
    j["list"] = e.list;
    j["category"] = e.category;
    j["rule"] = e.rule;
    if (audience == Audience::kOperator) {
      j["file"] = e.file;
      j["line"] = e.line;
    }
  }
  if (!e.action.empty()) j["action"] = e.action;
  if (!e.ede_text.empty()) j["ede_text"] = e.ede_text;
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j;
}

}  // namespace sinkhole::observe
