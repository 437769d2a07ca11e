// SPDX-License-Identifier: MIT
#include "blocklist/formats/rpz_policy.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "blocklist/formats/reader_output.h"
#include "blocklist/formats/rpz.h"
#include "blocklist/formats/rpz_ip.h"
#include "blocklist/normalize.h"

namespace sinkhole::blocklist {
namespace {

// Trigger kinds named by the last label of the owner (RPZ draft, section 4). NSDNAME and NSIP
// match the name servers of the delegation a recursive resolver walks; sinkholed forwards
// to upstream resolvers and never sees a delegation, so those rules could never fire: they
// are counted as skipped rather than loaded as dead rules.
constexpr std::string_view kClientIp = "rpz-client-ip";
constexpr std::string_view kAnswerIp = "rpz-ip";
constexpr std::array<std::string_view, 2> kUnsupportedTriggers = {"rpz-nsdname", "rpz-nsip"};

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

// A trigger seen again (a name or an IP trigger): local data accumulates, the same action
// is a duplicate, anything else contradicts the first record and is rejected (a zone server
// would refuse the zone). `local` gives the first record's local data, asked for only when
// both are local data.
template <typename Local>
void merge_record(ParsedList& out, ListAction first_action, uint32_t first_line, const RpzRecord& r,
                  ListAction action, Local local) {
  const std::string where = " (first at line " + std::to_string(first_line) + ")";
  if (action != first_action) {
    add_reject(out, r.line,
               std::string("conflicting rpz actions ") + action_name(first_action) + " and " +
                   action_name(action) + where,
               r.source_line);
    return;
  }
  if (action != ListAction::kLocalData) {
    ++out.stats.duplicates;
    return;
  }
  std::vector<LocalRecord>& records = local();
  for (const LocalRecord& l : records) {
    if (l.type == r.type &&
        std::equal(l.rdata.begin(), l.rdata.end(), r.rdata.begin(), r.rdata.end())) {
      ++out.stats.duplicates;
      return;
    }
    if (l.type == LDNS_RR_TYPE_CNAME || r.type == LDNS_RR_TYPE_CNAME) {
      add_reject(out, r.line, "CNAME and other data at one trigger" + where, r.source_line);
      return;
    }
  }
  records.push_back(LocalRecord{r.type, r.ttl, {r.rdata.begin(), r.rdata.end()}});
}

std::atomic<bool> small_chunks{false};

}  // namespace

void rpz_small_chunks_for_testing(bool on) {
  small_chunks = on;
}

RpzPolicyBuilder::RpzPolicyBuilder(ParsedList& out)
    : chunk_(small_chunks ? 3 : kStreamChunk),
      forget_at_(small_chunks ? 2 : kForgetAt),
      out_(out) {}

std::string_view RpzPolicyBuilder::keep(std::string_view name) {
  if (arena_left_ < name.size()) {
    arena_.push_back(std::make_unique<char[]>(kArenaBlock));
    arena_left_ = kArenaBlock;
  }
  char* at = arena_.back().get() + (kArenaBlock - arena_left_);
  std::memcpy(at, name.data(), name.size());
  arena_left_ -= name.size();
  return {at, name.size()};
}

void RpzPolicyBuilder::expect(size_t names) {
  // An index emptied every kForgetAt names is sized for that many, not for the zone.
  if (out_.sink != nullptr && out_.sink->indexes_all())
    names = std::min(names, forget_at_ + chunk_);
  by_name_.reserve(names);
}

RpzPolicyBuilder::Trigger RpzPolicyBuilder::earlier(std::string_view name) const {
  Trigger t;
  DomainSink::Earlier exact, below;
  if (!forgot_ || !out_.sink->find_earlier(name, exact, below)) return t;
  if (exact.action != ListAction::kNone) t.exact.set(exact.line, exact.action);
  if (below.action != ListAction::kNone) t.below.set(below.line, below.action);
  return t;
}

void RpzPolicyBuilder::forget_handed_over(Trigger current) {
  if (by_name_.size() < forget_at_ || !out_.sink->indexes_all()) return;
  by_name_.clear();  // (frees a large table: size the next one again, as expect() did)
  by_name_.reserve(forget_at_ + chunk_);
  if (arena_.size() > 1) arena_.resize(1);  // the keys are gone: reuse the first block
  arena_left_ = arena_.empty() ? 0 : kArenaBlock;
  last_ = &by_name_.try_emplace(keep(name_), current).first->second;
  last_name_ = name_;
  forgot_ = true;
}

void RpzPolicyBuilder::add(const RpzRecord& r) {
  if (std::string_view trigger_kind = last_label(r.trigger);
      std::find(kUnsupportedTriggers.begin(), kUnsupportedTriggers.end(), trigger_kind) !=
      kUnsupportedTriggers.end()) {
    count_skip(out_, "rpz trigger " + std::string(trigger_kind) + " not used by a forwarder");
    return;
  }
  ListAction action = action_of(r);
  if (action == ListAction::kNone) {
    count_skip(out_, "rpz local data type " + type_name(r.type) + " not yet supported");
    return;
  }
  if (std::string_view kind = last_label(r.trigger); kind == kClientIp || kind == kAnswerIp) {
    add_ip(r, action, kind == kClientIp);
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
  if (!normalize_name_into(name, name_, reason_)) {
    add_reject(out_, r.line, reason_, r.source_line);
    return;
  }

  // Zones write `name` and `*.name` one after the other: the second finds its trigger
  // without a probe (the index, tens of megabytes, is a cache miss a lookup).
  Trigger* trigger = last_;
  if (trigger == nullptr || name_ != last_name_) {
    trigger = &by_name_
                   .lazy_emplace(std::string_view(name_),
                                 [&](const auto& make) { make(keep(name_), earlier(name_)); })
                   ->second;
    last_ = trigger;
    last_name_ = name_;
  }
  First& first = scope == Scope::kExact ? trigger->exact : trigger->below;
  if (first.action() != ListAction::kNone) {
    merge(first, r, action, scope);
    return;
  }
  first.set(r.line, action);
  if (out_.sink != nullptr && !holding_ && out_.domains.size() >= chunk_) {
    flush_domains(out_);
    forget_handed_over(*trigger);
  }
  DomainEntry* e = &out_.domains.emplace_back();
  if (action == ListAction::kLocalData) {
    local_entry_.emplace(name_ + static_cast<char>(scope),
                         static_cast<uint32_t>(out_.domains.size() - 1));
    holding_ = true;
    e->local.push_back(LocalRecord{r.type, r.ttl, {r.rdata.begin(), r.rdata.end()}});
  }
  e->name = name_;
  e->scope = scope;
  e->kind = action == ListAction::kPassthru ? RuleKind::kException : RuleKind::kBlock;
  e->action = action;
  e->line = r.line;
}

void RpzPolicyBuilder::add_ip(const RpzRecord& r, ListAction action, bool client) {
  const std::string_view kind = client ? kClientIp : kAnswerIp;
  IpTriggerEntry e;
  e.where = client ? IpTriggerEntry::Where::kClient : IpTriggerEntry::Where::kAnswer;
  std::string error;
  if (r.trigger.size() == kind.size() ||
      !decode_rpz_ip(r.trigger.substr(0, r.trigger.size() - kind.size() - 1), e, error)) {
    add_reject(out_, r.line, error.empty() ? "rpz IP trigger without an address" : error,
               r.source_line);
    return;
  }
  std::string key(reinterpret_cast<const char*>(e.addr.data()), e.addr.size());
  key += static_cast<char>(e.prefix);
  key += static_cast<char>(e.family);
  key += client ? '\x03' : '\x04';
  auto [it, inserted] = ip_by_trigger_.try_emplace(std::move(key), out_.ip_triggers.size());
  if (!inserted) {
    merge_ip(out_.ip_triggers[it->second], r, action);
    return;
  }
  e.kind = action == ListAction::kPassthru ? RuleKind::kException : RuleKind::kBlock;
  e.action = action;
  e.line = r.line;
  if (action == ListAction::kLocalData)
    e.local.push_back(LocalRecord{r.type, r.ttl, {r.rdata.begin(), r.rdata.end()}});
  out_.ip_triggers.push_back(std::move(e));
}

void RpzPolicyBuilder::merge_ip(IpTriggerEntry& first, const RpzRecord& r, ListAction action) {
  merge_record(out_, first.action, first.line, r, action,
               [&]() -> std::vector<LocalRecord>& { return first.local; });
}

void RpzPolicyBuilder::merge(const First& first, const RpzRecord& r, ListAction action,
                             Scope scope) {
  // The entry is looked up only for local data: only local-data triggers are indexed.
  merge_record(out_, first.action(), first.line(), r, action, [&]() -> std::vector<LocalRecord>& {
    return out_.domains[local_entry_.at(name_ + static_cast<char>(scope))].local;
  });
}

}  // namespace sinkhole::blocklist
