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

std::string basis_text(const policy::LegalBasis& b) {
  std::string out;
  auto add = [&out](std::string_view sep, const std::string& v) {
    if (v.empty()) return;
    if (!out.empty()) out += sep;
    out += v;
  };
  add("", b.authority);
  add(", ", b.reference);
  // Appended piece by piece: GCC 12 at -O3 takes `"lit" + std::string` for an overlapping
  // memcpy (-Wrestrict, fatal under -Werror in the Release build).
  if (!b.date.empty()) {
    if (!out.empty()) out += ' ';
    out += "of ";
    out += b.date;
  }
  if (!b.url.empty()) {
    if (!out.empty()) out += ' ';
    out += '<';
    out += b.url;
    out += '>';
  }
  return out;
}

nlohmann::ordered_json basis_json(const policy::LegalBasis& b) {
  if (b.empty()) return nullptr;
  return {{"authority", b.authority}, {"reference", b.reference}, {"date", b.date}, {"url", b.url}};
}

namespace {

std::string where_text(const policy::Explanation& e) {
  return fmt::format("list {} (category {}) at {}:{}, rule {}", e.list, e.category, e.file, e.line,
                     e.rule);
}

// The lines under a verdict: the deciding list's legal basis, the block rules it overrides or
// that their own exception lists lift, and the allow entry a mandatory list ignored. `indent`
// starts each line.
std::string detail_lines(const policy::Explanation& e, std::string_view indent) {
  std::string out;
  if (!e.basis.empty()) out += fmt::format("{}legal basis: {}\n", indent, basis_text(e.basis));
  if (e.ignored) {
    const auto& i = *e.ignored;
    out += fmt::format(
        "{}mandatory list {}: NOT overridden: the {} {} at {}:{}, rule {} was ignored (a "
        "mandatory list is lifted only by an exception list named in its own exceptions)\n",
        indent, e.list, i.allow_list ? "allow list" : "exception in list", i.list, i.file, i.line,
        i.rule);
  } else if (e.mandatory) {
    out += fmt::format("{}mandatory list {}\n", indent, e.list);
  }
  for (const auto& o : e.overridden) {
    const std::string rule = fmt::format("{}list {} (category {}) at {}:{}, rule {}, action {}",
                                         o.mandatory ? "mandatory " : "", o.list, o.category,
                                         o.file, o.line, o.rule, o.action);
    if (!o.lifted_by.empty())
      out += fmt::format("{}lifted by its exception list {} at {}:{}: {}\n", indent, o.lifted_by,
                         o.lifted_file, o.lifted_line, rule);
    else
      out += fmt::format("{}overrides {}\n", indent, rule);
  }
  return out;
}

// One policy's verdict on one line (no name, no client), for the per-policy form.
std::string verdict_line(const policy::Explanation& e) {
  switch (e.outcome) {
    case Outcome::kAllowed:
      return "allowed, no rule";
    case Outcome::kAllowListed:
      return "allowed by allow " + where_text(e);
    case Outcome::kException:
      return "allowed by an exception in " + where_text(e);
    case Outcome::kBlocked:
      return fmt::format("BLOCKED by {}, action {}", where_text(e), e.action);
    case Outcome::kMonitored:
      return fmt::format("monitored (answered normally, counted) by {}, action {}", where_text(e),
                         e.action);
    case Outcome::kRefusedClient:
      return "REFUSED (default_policy: refused)";
    case Outcome::kNoPolicies:
      return "allowed: no policies are configured (plain forwarder)";
    case Outcome::kInvalidName:
      return "not a valid name: " + e.reason;
  }
  return {};
}

const char* aggregate_verdict(int exit) {
  return exit == 3 ? "blocked" : exit == 4 ? "refused-client" : "allowed";
}

}  // namespace

std::string explain_text(const policy::Explanation& e) {
  const std::string who =
      e.client.empty()
          ? (e.policy.empty() ? std::string("no client given")
             : e.assumed      ? "no client given, assumed policy " + e.policy + " (the only policy)"
                              : "no client given, policy " + e.policy)
          : "client " + e.client + (e.policy.empty() ? "" : ", policy " + e.policy);
  const std::string where = where_text(e);
  const std::string details = detail_lines(e, "  ");
  switch (e.outcome) {
    case Outcome::kAllowed:
      return fmt::format("{}: allowed, no rule ({})\n{}", e.name, who, details);
    case Outcome::kAllowListed:
      return fmt::format("{}: allowed by allow {} ({})\n{}", e.name, where, who, details);
    case Outcome::kException:
      return fmt::format("{}: allowed by an exception in {} ({})\n{}", e.name, where, who, details);
    case Outcome::kBlocked:
      return fmt::format("{}: BLOCKED by {}\n  action {}{}\n{}  ({})\n", e.name, where, e.action,
                         e.ede_text.empty() ? "" : ", EDE text \"" + e.ede_text + "\"", details,
                         who);
    case Outcome::kMonitored:
      return fmt::format("{}: monitored (answered normally, counted) by {}, action {} ({})\n{}",
                         e.name, where, e.action, who, details);
    case Outcome::kRefusedClient:
      return fmt::format("{}: REFUSED: {} is in no policy's networks\n", e.name, who);
    case Outcome::kNoPolicies:
      return fmt::format("{}: allowed: no policies are configured (plain forwarder)\n", e.name);
    case Outcome::kInvalidName:
      return fmt::format("{}: not a valid name: {}\n", e.name, e.reason);
  }
  return {};
}

std::string explain_text(const std::vector<policy::Explanation>& each) {
  if (each.empty()) return {};
  if (each.size() == 1) return explain_text(each.front());
  std::string out = fmt::format(
      "{}: no client given, the verdict of each policy (in "
      "configuration order):\n",
      each.front().name);
  for (const auto& e : each) {
    out += fmt::format(
        "  {}: {}\n", e.policy.empty() ? std::string("clients in no policy") : "policy " + e.policy,
        verdict_line(e));
    out += detail_lines(e, "    ");
  }
  return out;
}

nlohmann::ordered_json explain_json(const policy::Explanation& e, Audience audience) {
  const bool op = audience == Audience::kOperator;
  nlohmann::ordered_json j = {{"name", e.name},
                              {"verdict", verdict_name(e.outcome)},
                              {"client", e.client},
                              {"policy", e.policy}};
  if (e.assumed) j["assumed"] = true;
  if (!e.list.empty()) {
    j["list"] = e.list;
    j["category"] = e.category;
    j["rule"] = e.rule;
    if (op) {
      j["file"] = e.file;
      j["line"] = e.line;
    }
  }
  if (e.mandatory) j["mandatory"] = true;
  if (!e.action.empty()) j["action"] = e.action;
  if (!e.ede_text.empty()) j["ede_text"] = e.ede_text;
  if (!e.basis.empty()) j["basis"] = basis_json(e.basis);
  if (!e.reason.empty()) j["reason"] = e.reason;
  if (e.ignored) {
    const auto& i = *e.ignored;
    nlohmann::ordered_json ig = {
        {"kind", i.allow_list ? "allow-list" : "exception"}, {"list", i.list}, {"rule", i.rule}};
    if (op) {
      ig["file"] = i.file;
      ig["line"] = i.line;
    }
    j["ignored_allow"] = std::move(ig);
  }
  if (!e.overridden.empty()) {
    auto& arr = j["overrides"] = nlohmann::ordered_json::array();
    for (const auto& o : e.overridden) {
      nlohmann::ordered_json r = {{"list", o.list},
                                  {"category", o.category},
                                  {"rule", o.rule},
                                  {"action", o.action},
                                  {"mandatory", o.mandatory}};
      if (op) {
        r["file"] = o.file;
        r["line"] = o.line;
      }
      if (!o.lifted_by.empty()) {
        r["lifted_by"] = o.lifted_by;
        if (op) {
          r["lifted_file"] = o.lifted_file;
          r["lifted_line"] = o.lifted_line;
        }
      }
      arr.push_back(std::move(r));
    }
  }
  return j;
}

nlohmann::ordered_json explain_json(const std::vector<policy::Explanation>& each,
                                    Audience audience) {
  if (each.size() == 1) return explain_json(each.front(), audience);
  const int exit = policy::exit_status(each);
  nlohmann::ordered_json j = {{"name", each.empty() ? std::string() : each.front().name},
                              {"verdict", aggregate_verdict(exit)},
                              {"client", ""},
                              {"exit", exit}};
  auto& arr = j["policies"] = nlohmann::ordered_json::array();
  for (const auto& e : each) arr.push_back(explain_json(e, audience));
  return j;
}

}  // namespace sinkhole::observe
