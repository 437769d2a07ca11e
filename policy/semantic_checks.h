// SPDX-License-Identifier: MIT
// The strict checks: configurations that load but are silently wrong. `sinkholed --check`
// and every reload report them as warnings (the log, the reload's reply, `sinkholectl
// status`); `sinkholed --check --strict` makes them errors. Each finding has the position
// of the node it is about (file:line:column, or the list file's line) and a hint.
//
//   check key            what
//   policy-no-clients    a policy without clients that is not the default_policy: it never
//                        applies (and with no default, those clients are REFUSED)
//   allow-and-block      one list in both allow and block of a policy: the allow wins, the
//                        list blocks nothing there
//   duplicate-rule       one list twice in a policy's allow or block: the second never decides
//   duplicate-policy     a policy with the same allow and block rules as an earlier one
//   policy-never-matches every client prefix of a policy is covered by more specific
//                        prefixes of other policies (longest prefix wins: client_groups.h)
//   unused-list          a list no policy uses: loaded, blocks nothing
//   unused-action        an action no list or block rule uses
//   forwards-to-self     an upstream that is one of our listen addresses (or a local address
//                        on the port of a 0.0.0.0 / :: listener)
//   public-suffix        a list entry that is a TLD or public suffix (`vn`, `com.vn`): it
//                        covers every name under it; `allow_suffix: true` on the list says so
//                        on purpose
//   open-resolver        a listen address that is not loopback while server.allow_query
//                        admits every address (0.0.0.0/0 or ::/0)
//   basis-missing        a block rule's action names {authority} or {reference} in its EDE
//                        text, but the list has no such legal basis field: the text has a hole
//
// semantic_checks is a pure function of what it is given (tests pass their own suffixes
// and local addresses). Load path only: after a successful build, on the thread that built
// it. The public-suffix check asks each list's matcher for each suffix (~9,000 lookups a
// list, independent of the list's size; no work per entry, nothing on the query path).
#pragma once

#include <string>
#include <vector>

#include "policy/public_suffixes.h"
#include "policy/snapshot.h"
#include "policy/snapshot_builder.h"
#include "resolver/config/config.h"
#include "resolver/config/socket_address.h"

namespace sinkhole::config {
struct Document;
}  // namespace sinkhole::config

namespace sinkhole::policy {

struct Finding {
  std::string check;  // the key above
  std::string file;
  unsigned line = 0;    // 1-based; 0: the file as a whole
  unsigned column = 0;  // 1-based; 0: the line as a whole
  std::string message;
  std::string hint;
  // "file:line:column: message (hint: …) [check]"
  std::string to_string() const;
};

struct CheckInput {
  const config::Document& doc;
  const config::Config& cfg;
  const PolicySnapshot& snap;
  const PublicSuffixes* suffixes = nullptr;  // null: the public-suffix check is skipped
  // This machine's addresses (port ignored): an upstream on one of them at the port of a
  // wildcard listener forwards to ourselves.
  std::vector<config::SocketAddress> local_addresses;
};

std::vector<Finding> semantic_checks(const CheckInput& in);

// The addresses of this machine's interfaces (getifaddrs), for CheckInput.
std::vector<config::SocketAddress> local_interface_addresses();

// Runs semantic_checks on a successful build with the system's public suffix list and
// interface addresses, appending each finding's text to r.findings (and, when the suffix
// list is missing, a warning saying that check did not run).
void add_semantic_checks(BuildResult& r, const config::Document& doc, const config::Config& cfg);

}  // namespace sinkhole::policy
