// SPDX-License-Identifier: MIT
// explain: why a name is blocked or allowed for a client, as a struct: the client's policy,
// the list and file:line that matched, the action and its EDE text — or "allowed, no
// rule", with every block rule an allow entry overrides and, for a mandatory list, the allow
// entry it ignores. Walks the same rules as PolicySnapshot::decide, but collects the details
// decide() leaves out to stay cheap; tests check that both always agree. Rendering it as text or
// JSON (sinkholectl explain, the warning page's /explain) is resolver/observe's job
// (explain_report.h). Off the hot path: the control thread and the metrics HTTP thread,
// each with its own snapshot reference.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/snapshot.h"

namespace sinkhole::policy {

// A block rule of the policy that matched the name but did not decide: overridden by the
// allow entry or exception that did, or lifted by an exception list of its own.
struct OverriddenRule {
  std::string list, category, file;
  uint32_t line = 0;
  std::string rule;    // the listed name, or "pattern"
  std::string action;  // what it would have done
  bool mandatory = false;
  // Lifted by an exception list named in the list's own `exceptions:` ("" when it is the
  // allow entry or exception that overrides it), with that entry's file:line.
  std::string lifted_by, lifted_file;
  uint32_t lifted_line = 0;
};

// An allow entry (allow list or another list's exception) that matched but was ignored
// because the list that blocks is mandatory.
struct IgnoredAllow {
  bool allow_list = true;  // an allow list; false: an exception rule in a block list
  std::string list, file;
  uint32_t line = 0;
  std::string rule;
};

struct Explanation {
  enum class Outcome : uint8_t {
    kAllowed,        // no rule matched
    kAllowListed,    // an allow list of the policy matched
    kException,      // an exception (@@, RPZ passthru) in a block list matched
    kBlocked,        // a block rule matched; `action` says what the client gets
    kMonitored,      // a passthru action: answered normally, counted
    kRefusedClient,  // the client is in no policy's networks: every query REFUSED
    kNoPolicies,     // no policies configured: a plain forwarder
    kInvalidName,
  };
  Outcome outcome = Outcome::kAllowed;
  std::string name;    // as asked, normalised (lower case, no trailing dot)
  std::string client;  // the address used, "" when none was given
  std::string policy;  // the client's policy, "" when none
  std::string list, category, file;
  uint32_t line = 0;
  std::string rule;  // the listed name that matched (the query or a parent), or "pattern"
  std::string action;
  std::string ede_text;    // rendered, as sent in the EDE option ("" when the action has none)
  std::string reason;      // kInvalidName: why the name is not valid
  bool mandatory = false;  // kBlocked/kMonitored: the deciding list is mandatory
  LegalBasis basis;        // the matching list's legal basis (empty when it has none)
  // Every other block rule that matched: for an allowed name, the blocks it lifts; for any
  // outcome, the rules lifted by their own exception lists.
  std::vector<OverriddenRule> overridden;
  std::optional<IgnoredAllow> ignored;  // kBlocked by a mandatory list despite an allow entry
  // No client given and the only policy is the default one: it was assumed (text says so).
  bool assumed = false;
};

// `client`: the subscriber's address, or nullptr for a client in no policy's networks (the
// default policy, or REFUSED).
Explanation explain(const PolicySnapshot& snap, std::string_view name, const sockaddr* client);

// Without a client: the verdict of every policy, one Explanation each in the configuration's
// order, then, when clients outside every policy are refused (default_policy: refused, and
// no policy holds both 0.0.0.0/0 and ::/0), a kRefusedClient one for them (policy ""). When the
// only policy is the default policy: that one, `assumed`. No policies: one kNoPolicies. An invalid
// name: one kInvalidName.
std::vector<Explanation> explain_policies(const PolicySnapshot& snap, std::string_view name);

// sinkholectl explain's exit status (documented in its --help and the README): 3 blocked
// (any block action but passthru), 4 refused (a client in no policy's networks), else 0.
// For several verdicts (no --client): 3 if any blocks, else 4 if any refuses, else 0.
int exit_status(const Explanation& e);
int exit_status(const std::vector<Explanation>& each);

// Parses "192.0.2.1" / "2001:db8::1" into `out`; false if it is not an address.
bool parse_client_address(std::string_view text, sockaddr_storage& out);

}  // namespace sinkhole::policy
