// SPDX-License-Identifier: MIT
// The admit stage (pipeline stage 2): access control, before any work beyond the header.
// A client outside server.allow_query, or inside server.deny_query (which wins whatever the
// prefix lengths), is refused (REFUSED + EDE 18, its ID and question echoed when they
// parse) or dropped (server.refuse_action), on UDP and TCP alike; a TCP connection from
// such a client is closed at accept, before it is read (the net::ClientFilter).
//
// The prefix sets are policy::ClientGroups interval tables (the client-group lookup): a
// lookup is a few cache lines, noexcept, allocation-free. Built from the start-up
// configuration, and again by configure() when a reload changes it (the worker's TCP
// listeners ask the same object, so their accept filter follows). Worker thread only.
//
// The trusted proxies (server.proxy_protocol_from) are a third table of the same kind, read
// by the PROXY v2 stage (proxy_stage.h) and the TCP listeners; empty, nothing asks it.
//
// Response rate limiting, the other half of admission, applies to the replies and lives in
// rate_limiter.h; QueryPipeline::reply asks it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "policy/client_groups.h"
#include "resolver/config/access_config.h"
#include "resolver/net/client_filter.h"

namespace sinkhole::pipeline {

class AdmitStage final : public net::ClientFilter {
 public:
  explicit AdmitStage(const config::AccessConfig& cfg) { configure(cfg); }
  // Replaces the tables (a reload; allocates, once).
  void configure(const config::AccessConfig& cfg);

  bool admits(const sockaddr* client) const noexcept override {
    // A TCP peer the socket could not name (reset before it was accepted or read): no
    // answer can reach it, so it is served as before, unanswered, rather than refused.
    if (client->sa_family != AF_INET && client->sa_family != AF_INET6) return true;
    return deny_.lookup(client) == policy::ClientGroups::kNoGroup &&
           allow_.lookup(client) != policy::ClientGroups::kNoGroup;
  }
  // What happens to a query from a client that is not admitted.
  bool drops() const { return drop_; }
  // server.proxy_protocol_from is not empty.
  bool proxies_configured() const { return proxies_on_; }
  bool trusts_proxy(const sockaddr* peer) const noexcept override {
    return proxies_on_ && (peer->sa_family == AF_INET || peer->sa_family == AF_INET6) &&
           proxies_.lookup(peer) != policy::ClientGroups::kNoGroup;
  }

 private:
  policy::ClientGroups allow_;
  policy::ClientGroups deny_;
  policy::ClientGroups proxies_;
  bool drop_ = false;
  bool proxies_on_ = false;
};

}  // namespace sinkhole::pipeline
