// SPDX-License-Identifier: MIT
#include "blocklist/formats/rpz_policy.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>

#include "blocklist/formats/reader_output.h"
#include "blocklist/normalize.h"

namespace sinkhole::blocklist {
namespace {

// Trigger kinds named by the last label of the owner (RPZ draft, section 4).
constexpr std::array<std::string_view, 4> kUnsupportedTriggers = {"rpz-ip", "rpz-client-ip",
                                                                  "rpz-nsdname", "rpz-nsip"};

std::string_view last_label(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

// The action a record asks for; kNone means "not an RPZ rule" (unsupported type).
ListAction action_of(const RpzRecord& r) {
  switch (r.type) {
    case LDNS_RR_TYPE_CNAME:
      if (r.cname_target.empty()) return ListAction::kNxDomain;
      if (r.cname_target == "*") return ListAction::kNoData;
      if (r.cname_target == "rpz-passthru") return ListAction::kPassthru;
      if (r.cname_target == "rpz-drop") return ListAction::kDrop;
      if (r.cname_target == "rpz-tcp-only") return ListAction::kTcpOnly;
      // The pre-2013 passthru form: a CNAME to the trigger name itself.
      if (r.cname_target == r.trigger) return ListAction::kPassthru;
      return ListAction::kLocalData;
    case LDNS_RR_TYPE_A:
    case LDNS_RR_TYPE_AAAA:
      return ListAction::kLocalData;
    default:
      return ListAction::kNone;
  }
}

std::string type_name(uint16_t type) {
  char* text = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  std::string out = text ? text : "?";
  std::free(text);
  return out;
}

const char* action_name(ListAction a) {
  switch (a) {
    case ListAction::kNone:
      return "none";
    case ListAction::kNxDomain:
      return "NXDOMAIN";
    case ListAction::kNoData:
      return "NODATA";
    case ListAction::kPassthru:
      return "PASSTHRU";
    case ListAction::kDrop:
      return "DROP";
    case ListAction::kTcpOnly:
      return "TCP-ONLY";
    case ListAction::kLocalData:
      return "local data";
  }
  return "?";
}

}  // namespace

void RpzPolicyBuilder::add(RpzRecord r) {
  if (std::string_view trigger_kind = last_label(r.trigger);
      std::find(kUnsupportedTriggers.begin(), kUnsupportedTriggers.end(), trigger_kind) !=
      kUnsupportedTriggers.end()) {
    count_skip(out_, "rpz trigger " + std::string(trigger_kind) + " not yet supported");
    return;
  }
  ListAction action = action_of(r);
  if (action == ListAction::kNone) {
    count_skip(out_, "rpz local data type " + type_name(r.type) + " not yet supported");
    return;
  }

  Scope scope = Scope::kExact;
  std::string_view name = r.trigger;
  if (name.starts_with("*.")) {
    name.remove_prefix(2);
    scope = Scope::kSubdomains;
  } else if (name == "*") {
    add_reject(out_, r.line, "wildcard trigger for every name", r.source_line);
    return;
  }
  Normalized n = normalize_name(name);
  if (!n.ok) {
    add_reject(out_, r.line, n.reason, r.source_line);
    return;
  }

  std::string key = n.name;
  key += scope == Scope::kExact ? '\x01' : '\x02';
  auto [it, inserted] = by_trigger_.try_emplace(std::move(key), out_.domains.size());
  if (!inserted) {
    merge(it->second, r, action);
    return;
  }
  DomainEntry& e = out_.domains.emplace_back();
  e.name = std::move(n.name);
  e.scope = scope;
  e.kind = action == ListAction::kPassthru ? RuleKind::kException : RuleKind::kBlock;
  e.action = action;
  e.line = r.line;
  if (action == ListAction::kLocalData) {
    e.local.push_back(LocalRecord{r.type, r.ttl, std::move(r.rdata)});
  }
}

// A trigger seen again: local data accumulates, the same action is a duplicate, anything
// else contradicts the first record and is rejected (a zone server would refuse the zone).
void RpzPolicyBuilder::merge(size_t index, const RpzRecord& r, ListAction action) {
  DomainEntry& first = out_.domains[index];
  std::string where = " (first at line " + std::to_string(first.line) + ")";
  if (action != first.action) {
    add_reject(out_, r.line,
               std::string("conflicting rpz actions ") + action_name(first.action) + " and " +
                   action_name(action) + where,
               r.source_line);
    return;
  }
  if (action != ListAction::kLocalData) {
    ++out_.stats.duplicates;
    return;
  }
  for (const LocalRecord& l : first.local) {
    if (l.type == r.type && l.rdata == r.rdata) {
      ++out_.stats.duplicates;
      return;
    }
    if (l.type == LDNS_RR_TYPE_CNAME || r.type == LDNS_RR_TYPE_CNAME) {
      add_reject(out_, r.line, "CNAME and other data at one trigger" + where, r.source_line);
      return;
    }
  }
  first.local.push_back(LocalRecord{r.type, r.ttl, r.rdata});
}

}  // namespace sinkhole::blocklist
