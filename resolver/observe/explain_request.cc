// SPDX-License-Identifier: MIT
#include "resolver/observe/explain_request.h"

#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "policy/explain.h"
#include "resolver/observe/explain_report.h"

namespace sinkhole::observe {

namespace {

// Names and list texts come from files and requests: bytes that are not UTF-8 are
// replaced, never a reason to fail the reply.
std::string json_body(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

ExplainAnswer bad_request(const char* error) {
  return {400, json_body({{"error", error}})};
}

}  // namespace

// Exactly one name and at most one client: a proxy that pastes a Host header into the URL
// must not let a subscriber smuggle in a second `client=` and read another client's verdict.
ExplainAnswer answer_explain(const policy::PolicySnapshot& snap, std::span<const QueryArg> args) {
  const QueryArg* name = nullptr;
  const QueryArg* client = nullptr;
  unsigned names = 0, clients = 0;
  for (const auto& a : args) {
    if (a.key == "name" && names++ == 0) name = &a;
    if (a.key == "client" && clients++ == 0) client = &a;
  }
  if (names != 1 || name->value.empty() || clients > 1)
    return bad_request("exactly one name (and at most one client) is required: /explain?name=HOST");
  const bool has_client = client && !client->value.empty();
  sockaddr_storage addr{};
  if (has_client && !policy::parse_client_address(client->value, addr))
    return bad_request("client is not an IPv4 or IPv6 address");
  // Without a client: every policy's verdict (explain_report.h), as sinkholectl shows it.
  const std::vector<policy::Explanation> each =
      has_client ? std::vector<policy::Explanation>{policy::explain(
                       snap, name->value, reinterpret_cast<sockaddr*>(&addr))}
                 : policy::explain_policies(snap, name->value);
  if (each.front().outcome == policy::Explanation::Outcome::kInvalidName)
    return bad_request("name is not a valid domain name");
  return {200, json_body(explain_json(each, Audience::kPublic))};
}

}  // namespace sinkhole::observe
