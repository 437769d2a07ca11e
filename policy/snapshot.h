// SPDX-License-Identifier: MIT
// PolicySnapshot: everything a worker needs to decide a query, immutable once built —
// client groups, per-group ordered rules, one matcher per list, actions, per-list metadata.
// Built off the hot path (policy/snapshot_builder) and published through SnapshotHolder;
// workers read it without locks.
//
// Model overview
//   list     a file of one format, with a category and an optional default action
//   action   what a blocked query gets (policy/action.h); built-ins: nxdomain, nodata,
//            refused, drop, passthru (and, for RPZ rules, tcp-only and local-data)
//   policy   client CIDRs → allow lists (checked first) and ordered block rules
//            {list, optional action}
//   decision allow lists first (any match allows); then block rules in order: the first
//            list with a match decides — an exception (AdBlock @@, RPZ passthru) allows, a
//            block applies the rule's action, else the RPZ rule's own action, else the
//            list's default action, else nxdomain. A name an exception list of the matching
//            list holds (its `exceptions:`) is exempt from that list only: the walk goes on.
//   mandatory a list marked `mandatory: true` (the regulator's): neither an allow list nor
//            another list's exception lifts its block. Once an allow list or an exception
//            matched, the walk goes on over the policy's mandatory rules only; the first
//            one that blocks decides. Only its own `exceptions:` lists (or its own
//            exception rules) lift a name from it.
//   RPZ precedence (draft-vixie-dnsop-dns-rpz §5, as BIND): across lists the first list of
//            the policy's block order that has a matching rule decides (a policy zone
//            each); inside one list, rpz-client-ip beats QNAME beats rpz-ip (NSDNAME and
//            NSIP are never loaded: blocklist/formats/rpz.h). decide() checks a list's
//            client-ip rules before its names; decide_answer() checks the rpz-ip rules of
//            the lists before the one that decided the name, once the answer is there. A
//            QNAME verdict from a list after the policy's first rpz-ip list therefore waits
//            for the answer (the pipeline forwards the query, then applies whichever wins),
//            as BIND does with its default qname-wait-recurse yes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "blocklist/format_inference.h"
#include "blocklist/matcher.h"
#include "policy/action.h"
#include "policy/client_groups.h"
#include "policy/legal_basis.h"
#include "policy/list_guard.h"
#include "policy/list_source.h"
#include "policy/rpz_ip_triggers.h"
#include "policy/staged_tally.h"
#include "resolver/dns/message_view.h"
#include "resolver/metrics/block_stats.h"

namespace sinkhole::policy {

inline constexpr int32_t kNoAction = -1;
inline constexpr int32_t kRefuseClient = -1;  // clients in no group, by default
inline constexpr int32_t kAllowAll = -2;      // no policies configured: plain forwarder

struct ListData {
  std::string name;
  std::string category;
  uint16_t category_id = 0;
  std::string path;
  blocklist::Format format = blocklist::Format::kDomains;
  // Where the format came from (`format:`, or inferred: blocklist/format_inference.h), and
  // why it was inferred so.
  blocklist::FormatBasis format_basis = blocklist::FormatBasis::kConfigured;
  std::string format_why;
  bool allow_suffix = false;  // `allow_suffix: true`: entries may be public suffixes
  int32_t default_action = kNoAction;
  std::shared_ptr<const blocklist::Matcher> matcher;
  blocklist::ListStats stats;
  // RPZ local data (A/AAAA/CNAME answers) by entry index.
  absl::flat_hash_map<uint32_t, std::vector<blocklist::LocalRecord>> local;
  int32_t protected_category = -1;  // BlockStats category id (protected users), -1: none
  int64_t file_mtime_unix = 0;      // the list file's modification time (list age metric)
  int64_t loaded_unix = 0;  // when its content was read (a reused list: the build that read it)
  bool mandatory = false;   // `mandatory: true`: no allow list or foreign exception lifts it
  // `exceptions:`: lists whose entries are exempt from this list only, and per such list how
  // many entries of this list it lifts (counted at load: the audit log line and metric).
  std::vector<uint16_t> exceptions;
  std::vector<size_t> exempted_names;
  // Per-list rebuilds (rebuild): a reload compiles only the lists whose content or build
  // settings changed and takes the others' compiled data (matcher, stats, local data, format
  // choice, load warnings, exception names) from the snapshot serving.
  uint64_t content_hash = 0;  // XXH3-64 of the file's bytes as read
  uint64_t build_key = 0;     // content_hash + everything else the compiled list depends on
  bool reused = false;        // this build took the list from the serving snapshot
  std::vector<std::string> load_warnings;  // "list X: N lines rejected (first at …)"
  std::vector<std::string> load_details;   // each rejected line and bad pattern (capped)
  // The names of the list's block entries, kept only when some list names it in
  // `exceptions:` (its lifts are counted again by each build).
  std::shared_ptr<const std::vector<std::string>> exception_names;
  // Feeds (resolver/feeds): where the content comes from (`path`, an RPZ primary, a URL),
  // the guard's limits (a feed's candidate meets the same ones), and whether a feed list
  // has no copy yet (then empty: `path` names the copy it waits for).
  ListSource source;
  ListLimits limits;
  bool pending = false;
  // RPZ IP triggers (part "triggers"): the list's rpz-client-ip and rpz-ip rules, their
  // local data in `local` under kIpTriggerEntry | index; null when it has none.
  std::shared_ptr<const RpzIpTriggers> ip_triggers;
  // Legal basis (`basis:`, policy/legal_basis.h): who ordered this list's blocking and by
  // which decision; empty when not configured.
  LegalBasis basis;
  // Pushes, staging and local overrides (sinkholectl list push / stage, block / unblock;
  // resolver/control/list_admin.h): `configured_path` is the file the configuration names
  // (file lists; `path` may then be a pushed copy), `copy` which copy `path` is ("" the
  // configured file or a feed's current copy, "pushed", "candidate"). `staged` is the
  // matcher of a staged version, never consulted for an answer: the policy stage only
  // tallies what it would block (`staged_tally`). `override_list`: a built-in list of the
  // local overrides (policy/local_overrides.h).
  std::string configured_path;
  std::string copy;
  std::shared_ptr<const blocklist::Matcher> staged;
  std::string staged_path;
  uint64_t staged_entries = 0;
  std::shared_ptr<StagedTally> staged_tally;
  bool override_list = false;
};

// The EDE template's values for a block by `list` at `line` (policy/action.h).
inline EdeFields ede_fields(const ListData& list, uint32_t line) {
  return {list.name, list.category, list.path, line, list.basis.authority, list.basis.reference};
}

struct BlockRule {
  uint16_t list = 0;
  int32_t action = kNoAction;  // kNoAction: the RPZ rule's own, the list's default, nxdomain
};

struct Policy {
  std::string name;
  std::vector<std::string> clients;  // its CIDRs as configured, normalised (sinkholectl policies)
  std::vector<uint16_t> allow;
  std::vector<BlockRule> block;
  bool has_mandatory = false;  // a block rule's list is mandatory: allows do not end the walk
  // RPZ IP triggers: some block rule's list has rpz-client-ip rules (decide reads the
  // client only then), and the index in `block` of the first rule whose list has rpz-ip
  // rules (kNoAnswerIp: none, the answer is never looked at).
  bool has_client_ip = false;
  uint16_t first_answer_ip = 0xFFFF;
  static constexpr uint16_t kNoAnswerIp = 0xFFFF;
};

// The outcome of deciding one query: a few bytes, no strings.
struct Verdict {
  enum class Kind : uint8_t { kAllow, kBlock, kMonitor };  // kMonitor: passthru, counted
  Kind kind = Kind::kAllow;
  uint16_t action = 0;
  uint16_t list = 0;
  uint16_t policy = 0;  // the client's policy (the `policy` label of the counters and logs)
  uint8_t depth = 0;    // labels between the query name and the listed name
  bool lifted = false;  // an allow list or exception matched: only mandatory lists decide
  // The index in the policy's `block` of the rule that decided (an allow list: 0; no rule
  // matched: block.size()). RPZ precedence: only rpz-ip rules of lists before it may still
  // override the verdict once the answer is known.
  uint16_t rule = 0;
  uint32_t line = 0;
  uint32_t entry = 0;
  bool pattern = false;
};

class PolicySnapshot {
 public:
  uint64_t generation = 0;
  std::string config_path;
  // The configuration text this snapshot was built from (config::Document::text): a feed's
  // build parses it again rather than the file, which the admin may be editing. Null when
  // built from a tree without its text (tests).
  std::shared_ptr<const std::string> config_text;
  std::vector<ListData> lists;
  std::vector<Action> actions;
  std::vector<Policy> policies;
  std::vector<std::string> categories;
  ClientGroups groups;
  int32_t default_policy = kRefuseClient;
  bool any_answer_ip = false;  // some policy has a list with rpz-ip rules
  // Some policy's clients hold 0.0.0.0/0 and some ::/0: no client falls to default_policy
  // (explain without a client then shows no "refused" verdict).
  bool every_client_in_a_policy = false;
  // Some list has a staged version (ListData::staged): the policy stage tallies it.
  bool any_staged = false;

  // Built-in action indexes (always present).
  uint16_t nxdomain = 0, nodata = 0, refused = 0, drop = 0, passthru = 0, tcp_only = 0,
           local_data = 0;

  // Counter cells of blocked and monitored queries (metrics::BlockStats), by policy and
  // list: those of the pair (p, l) are cells[cell_begin[k] .. cell_begin[k + 1]) with
  // k = p × lists + l, one per action the pair can produce (a few; an RPZ list's rule
  // actions at most). Sparse, unlike a policies × lists × actions table, which grows to
  // megabytes for a large plan. Both empty when the snapshot was built without
  // metrics::BlockStats (tests, --check).
  struct CellRef {
    uint16_t action;
    metrics::BlockStats::Cell* cell;
  };
  std::vector<uint32_t> cell_begin;
  std::vector<CellRef> cells;
  metrics::ProtectedUsers* protected_users = nullptr;  // with the cells
  // The cell that counts `v` (blocked, or monitored for a passthru action); null when none.
  metrics::BlockStats::Cell* cell_for(const Verdict& v) const noexcept {
    const size_t k = size_t{v.policy} * lists.size() + v.list;
    if (k + 1 >= cell_begin.size()) return nullptr;
    for (uint32_t i = cell_begin[k]; i < cell_begin[k + 1]; ++i)
      if (cells[i].action == v.action) return cells[i].cell;
    return nullptr;
  }

  // The policy for a client address, kRefuseClient or kAllowAll.
  int32_t classify(const sockaddr* client) const noexcept;
  // Decides a query name (uncompressed wire, any case) under policy `p`. `scratch` serves
  // pattern lists (may be null when none has patterns). `client`, when given, is matched
  // against the rpz-client-ip rules of the policy's lists. Allocates nothing.
  Verdict decide(int32_t p, const uint8_t* qname, size_t len, blocklist::PatternScratch* scratch,
                 const sockaddr* client = nullptr) const noexcept;
  // A list's rule for the query: its rpz-client-ip rule for `client` (when given) first, then
  // its name rules.
  std::optional<blocklist::Match> match(const ListData& list, const sockaddr* client,
                                        const uint8_t* qname, size_t len,
                                        blocklist::PatternScratch* scratch) const noexcept;
  // RPZ rpz-ip: the A/AAAA records of the answer section of `resp` against the rpz-ip rules
  // of the lists before `by_name.rule` (the query's decide() verdict under policy `p`); in
  // one list the longest matching prefix wins (the first record among equals). nullopt when
  // none matched; a Verdict of kind kAllow when an rpz-ip passthru did (the answer stands,
  // whatever the name's verdict); else the block (or monitor) verdict, depth 0.
  std::optional<Verdict> decide_answer(int32_t p, const Verdict& by_name, const uint8_t* qname,
                                       size_t len, blocklist::PatternScratch* scratch,
                                       const uint8_t* resp,
                                       const dns::MessageView& m) const noexcept;
  // The action a matching block rule applies: the rule's, else the RPZ rule's own, else the
  // list's default, else nxdomain; kNoAction for an RPZ passthru rule (an exception).
  int32_t rule_action(const BlockRule& rule, const blocklist::Rule& matched) const noexcept;
  // True when an exception list of `list` holds the name (exempt from that list only);
  // `via`, when given, receives that exception list and its match.
  bool exempt(const ListData& list, const uint8_t* qname, size_t len,
              blocklist::PatternScratch* scratch, uint16_t* via = nullptr,
              blocklist::Match* via_match = nullptr) const noexcept;
};

}  // namespace sinkhole::policy
