// SPDX-License-Identifier: MIT
// explain: why a name is blocked or allowed for a client, as a struct: the client's policy,
// the list and file:line that matched, the action and its EDE text — or "allowed, no
// rule". Walks the same rules as PolicySnapshot::decide, but collects the details decide()
// leaves out to stay cheap; tests check that both always agree. Rendering it as text or
// JSON (sinkholectl explain, the warning page's /explain) is resolver/observe's job
// (explain_report.h). Off the hot path: the control thread and the metrics HTTP thread,
// each with its own snapshot reference.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/snapshot.h"

namespace sinkhole::policy {

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
  std::string ede_text;  // rendered, as sent in the EDE option ("" when the action has none)
  std::string reason;    // kInvalidName: why the name is not valid
};

// `client`: the subscriber's address, or nullptr to use the default policy (or, without
// one, the first policy: the text then says so).
Explanation explain(const PolicySnapshot& snap, std::string_view name, const sockaddr* client);

// Parses "192.0.2.1" / "2001:db8::1" into `out`; false if it is not an address.
bool parse_client_address(std::string_view text, sockaddr_storage& out);

}  // namespace sinkhole::policy
