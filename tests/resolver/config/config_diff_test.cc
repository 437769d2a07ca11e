// SPDX-License-Identifier: MIT
// restart_required_changes / live_changes: every restart-required key is named when it
// differs (and only it), live keys are never reported as restart-required, equal configs
// give nothing, and a change made through the YAML loader is named by its file key.
#include "resolver/config/config_diff.h"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

namespace {

using sinkhole::config::Config;
using sinkhole::config::live_changes;
using sinkhole::config::Millis;
using sinkhole::config::parse_config;
using sinkhole::config::restart_required_changes;
using sinkhole::config::SocketAddress;

struct Change {
  const char* key;
  std::function<void(Config&)> apply;
};

SocketAddress addr(const char* text) {
  return *SocketAddress::parse(text, 53);
}

sinkhole::policy::Cidr cidr(const char* text) {
  return *sinkhole::policy::parse_cidr(text, nullptr);
}

Config base() {
  Config c;
  c.server.listen = {addr("127.0.0.1:53")};
  c.upstream.servers = {addr("192.0.2.1")};
  return c;
}

const std::vector<Change>& restart_changes() {
  static const std::vector<Change> changes = {
      {"server.listen", [](Config& c) { c.server.listen.push_back(addr("[::1]:53")); }},
      {"server.workers", [](Config& c) { c.server.workers = 7; }},
      {"server.udp_payload", [](Config& c) { c.server.udp_payload = 1400; }},
      {"server.tcp_idle_timeout", [](Config& c) { c.server.tcp_idle_timeout = Millis{1}; }},
      {"server.tcp_max_connections", [](Config& c) { c.server.tcp_max_connections = 3; }},
      {"server.tcp_max_connections_per_client",
       [](Config& c) { c.server.tcp_max_connections_per_client = 3; }},
      {"server.tcp_query_timeout", [](Config& c) { c.server.tcp_query_timeout = Millis{1}; }},
      {"server.tcp_write_timeout", [](Config& c) { c.server.tcp_write_timeout = Millis{1}; }},
      {"server.tcp_max_queued_bytes", [](Config& c) { c.server.tcp_max_queued_bytes = 1; }},
      {"server.tcp_max_query_size", [](Config& c) { c.server.tcp_max_query_size = 1; }},
      {"control.socket", [](Config& c) { c.control.socket = "/tmp/other.sock"; }},
      {"control.mode", [](Config& c) { c.control.mode = 0600; }},
      {"control.group", [](Config& c) { c.control.group = "adm"; }},
      {"metrics.listen", [](Config& c) { c.metrics.listen = addr("127.0.0.1:9100"); }},
      {"metrics.max_connections", [](Config& c) { c.metrics.max_connections = 1; }},
      {"metrics.max_connections_per_client",
       [](Config& c) { c.metrics.max_connections_per_client = 1; }},
      {"metrics.timeout", [](Config& c) { c.metrics.timeout = Millis{1}; }},
      {"rate_limit.table_size", [](Config& c) { c.rate_limit.table_size = 4; }},
      {"dnstap", [](Config& c) { c.dnstap = sinkhole::config::DnstapConfig{}; }},
  };
  return changes;
}

const std::vector<Change>& live_key_changes() {
  static const std::vector<Change> changes = {
      {"server.identity", [](Config& c) { c.server.identity = "ns1"; }},
      {"server.version", [](Config& c) { c.server.version = "1"; }},
      {"server.allow_query", [](Config& c) { c.server.access.allow_query = {cidr("10.0.0.0/8")}; }},
      {"server.deny_query", [](Config& c) { c.server.access.deny_query = {cidr("10.1.0.0/16")}; }},
      {"server.refuse_action",
       [](Config& c) {
         c.server.access.refuse_action = sinkhole::config::AccessConfig::RefuseAction::kDrop;
       }},
      {"server.proxy_protocol_from",
       [](Config& c) { c.server.access.proxy_protocol_from = {cidr("192.0.2.10/32")}; }},
      {"upstreams", [](Config& c) { c.upstream.servers = {addr("192.0.2.2")}; }},
      {"upstream.timeout", [](Config& c) { c.upstream.timeout = Millis{10}; }},
      {"upstream.deadline", [](Config& c) { c.upstream.deadline = Millis{10}; }},
      {"upstream.max_inflight", [](Config& c) { c.upstream.max_inflight = 1; }},
      {"upstream.max_inflight_per_upstream",
       [](Config& c) { c.upstream.max_inflight_per_upstream = 1; }},
      {"upstream.zone_share", [](Config& c) { c.upstream.zone_share_percent = 50; }},
      {"upstream.socket_reuse", [](Config& c) { c.upstream.socket_reuse = 1; }},
      {"log.level", [](Config& c) { c.log.level = "debug"; }},
      {"log.blocked_queries", [](Config& c) { c.log.blocked_queries = true; }},
      {"log.client_address",
       [](Config& c) { c.log.client_address = sinkhole::config::LogConfig::ClientAddress::kFull; }},
      {"control.watch_files", [](Config& c) { c.control.watch_files = false; }},
      {"control.watch_debounce", [](Config& c) { c.control.watch_debounce = Millis{5}; }},
      {"cache.max_bytes", [](Config& c) { c.cache.max_bytes = 0; }},
      {"cache.min_ttl", [](Config& c) { c.cache.min_ttl = 5; }},
      {"cache.max_ttl", [](Config& c) { c.cache.max_ttl = 5; }},
      {"cache.max_negative_ttl", [](Config& c) { c.cache.max_negative_ttl = 5; }},
      {"cache.serve_stale", [](Config& c) { c.cache.serve_stale = Millis{0}; }},
      {"rate_limit.responses_per_second", [](Config& c) { c.rate_limit.responses_per_second = 5; }},
      {"rate_limit.burst", [](Config& c) { c.rate_limit.burst = 5; }},
      {"rate_limit.slip", [](Config& c) { c.rate_limit.slip = 0; }},
      {"rate_limit.ipv4_prefix", [](Config& c) { c.rate_limit.ipv4_prefix = 32; }},
      {"rate_limit.ipv6_prefix", [](Config& c) { c.rate_limit.ipv6_prefix = 64; }},
      {"rate_limit.exempt", [](Config& c) { c.rate_limit.exempt = {cidr("10.0.0.0/8")}; }},
  };
  return changes;
}

}  // namespace

TEST_CASE("equal configs differ in nothing") {
  const Config a = base();
  const Config b = base();
  CHECK(restart_required_changes(a, b).empty());
  CHECK(live_changes(a, b).empty());
}

TEST_CASE("every restart-required key is named, and only it") {
  for (const auto& ch : restart_changes()) {
    CAPTURE(ch.key);
    Config next = base();
    ch.apply(next);
    CHECK(restart_required_changes(base(), next) == std::vector<std::string>{ch.key});
    CHECK(live_changes(base(), next).empty());
  }
}

TEST_CASE("live keys are never restart-required, and are named as live") {
  for (const auto& ch : live_key_changes()) {
    CAPTURE(ch.key);
    Config next = base();
    ch.apply(next);
    CHECK(restart_required_changes(base(), next).empty());
    CHECK(live_changes(base(), next) == std::vector<std::string>{ch.key});
  }
}

TEST_CASE("several changes are named in file order, whichever way round") {
  Config next = base();
  next.metrics.listen = addr("127.0.0.1:9100");
  next.server.listen = {addr("127.0.0.1:5300")};
  next.cache.max_ttl = 60;
  next.upstream.servers = {addr("192.0.2.9")};
  const std::vector<std::string> restart{"server.listen", "metrics.listen"};
  CHECK(restart_required_changes(base(), next) == restart);
  CHECK(restart_required_changes(next, base()) == restart);
  CHECK(live_changes(base(), next) == std::vector<std::string>{"upstreams", "cache.max_ttl"});
  CHECK(sinkhole::config::join_keys(restart) == "server.listen, metrics.listen");
  CHECK(sinkhole::config::join_keys({}).empty());
}

TEST_CASE("changes read from YAML are named by their keys") {
  const char* before =
      "server: {listen: [127.0.0.1:5300]}\n"
      "upstreams: [192.0.2.1]\n"
      "cache: {max_ttl: 1h}\n";
  const char* after =
      "server: {listen: [127.0.0.1:5301], allow_query: [10.0.0.0/8]}\n"
      "upstreams: [192.0.2.1]\n"
      "cache: {max_ttl: 1m}\n"
      "rate_limit: {responses_per_second: 10, table_size: 1024}\n";
  const auto a = parse_config(before, "a.yaml");
  const auto b = parse_config(after, "b.yaml");
  REQUIRE(a.config);
  REQUIRE(b.config);
  CHECK(restart_required_changes(*a.config, *b.config) ==
        std::vector<std::string>{"server.listen", "rate_limit.table_size"});
  CHECK(live_changes(*a.config, *b.config) ==
        std::vector<std::string>{"server.allow_query", "cache.max_ttl",
                                 "rate_limit.responses_per_second"});
  // The same text twice: nothing (the path is not a setting).
  const auto again = parse_config(before, "c.yaml");
  REQUIRE(again.config);
  CHECK(restart_required_changes(*a.config, *again.config).empty());
  CHECK(live_changes(*a.config, *again.config).empty());
}

TEST_CASE("keep_restart_settings takes every restart-required key back, and no live one") {
  Config running = base();
  Config next = base();
  for (const auto& ch : restart_changes()) ch.apply(next);
  for (const auto& ch : live_key_changes()) ch.apply(next);
  REQUIRE(restart_required_changes(running, next).size() == restart_changes().size());
  sinkhole::config::keep_restart_settings(next, running);
  CHECK(restart_required_changes(running, next).empty());
  CHECK(live_changes(running, next).size() == live_key_changes().size());
}
