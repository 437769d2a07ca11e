// SPDX-License-Identifier: MIT
#include "resolver/config/config_diff.h"

#include <functional>

namespace sinkhole::config {

namespace {

struct Key {
  const char* name;
  std::function<bool(const Config&, const Config&)> same;
};

// Compares one member reached by `get` in both configs.
template <typename Get>
Key key(const char* name, Get get) {
  return {name, [get](const Config& a, const Config& b) { return get(a) == get(b); }};
}

bool same_dnstap(const std::optional<DnstapConfig>& a, const std::optional<DnstapConfig>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->output == b->output && a->path == b->path && a->identity == b->identity &&
         a->version == b->version && a->client_queries == b->client_queries &&
         a->client_responses == b->client_responses;
}

// Sized or bound once at start: the sockets, threads, per-worker tables, listeners and
// the dnstap writer.
const std::vector<Key>& restart_keys() {
  static const std::vector<Key> keys = {
      key("server.listen", [](const Config& c) { return c.server.listen; }),
      key("server.workers", [](const Config& c) { return c.server.workers; }),
      key("server.udp_payload", [](const Config& c) { return c.server.udp_payload; }),
      key("server.tcp_idle_timeout", [](const Config& c) { return c.server.tcp_idle_timeout; }),
      key("server.tcp_max_connections",
          [](const Config& c) { return c.server.tcp_max_connections; }),
      key("server.tcp_max_connections_per_client",
          [](const Config& c) { return c.server.tcp_max_connections_per_client; }),
      key("server.tcp_query_timeout", [](const Config& c) { return c.server.tcp_query_timeout; }),
      key("server.tcp_write_timeout", [](const Config& c) { return c.server.tcp_write_timeout; }),
      key("server.tcp_max_queued_bytes",
          [](const Config& c) { return c.server.tcp_max_queued_bytes; }),
      key("server.tcp_max_query_size", [](const Config& c) { return c.server.tcp_max_query_size; }),
      key("control.socket", [](const Config& c) { return c.control.socket; }),
      key("control.mode", [](const Config& c) { return c.control.mode; }),
      key("control.group", [](const Config& c) { return c.control.group; }),
      key("metrics.listen", [](const Config& c) { return c.metrics.listen; }),
      key("metrics.max_connections", [](const Config& c) { return c.metrics.max_connections; }),
      key("metrics.max_connections_per_client",
          [](const Config& c) { return c.metrics.max_connections_per_client; }),
      key("metrics.timeout", [](const Config& c) { return c.metrics.timeout; }),
      key("rate_limit.table_size", [](const Config& c) { return c.rate_limit.table_size; }),
      // The lock files are taken in it at start (resolver/control/instance_lock.h).
      key("server.runtime_dir", [](const Config& c) { return c.server.runtime_dir; }),
      // The feed manager, its copies and the audit log are set up once, at start.
      key("server.state_dir", [](const Config& c) { return c.server.state_dir; }),
      key("server.audit_log", [](const Config& c) { return c.server.audit_log; }),
      // The hash key is drawn or read once: a new one would mix two keys' registers.
      key("protected_users.key_file", [](const Config& c) { return c.protected_users.key_file; }),
      // The dnstap writer (its I/O thread and per-worker queues) is made once, at start.
      {"dnstap", [](const Config& a, const Config& b) { return same_dnstap(a.dnstap, b.dnstap); }},
  };
  return keys;
}

const std::vector<Key>& live_keys() {
  static const std::vector<Key> keys = {
      key("server.identity", [](const Config& c) { return c.server.identity; }),
      key("server.version", [](const Config& c) { return c.server.version; }),
      key("server.allow_query", [](const Config& c) { return c.server.access.allow_query; }),
      key("server.deny_query", [](const Config& c) { return c.server.access.deny_query; }),
      key("server.refuse_action", [](const Config& c) { return c.server.access.refuse_action; }),
      key("server.proxy_protocol_from",
          [](const Config& c) { return c.server.access.proxy_protocol_from; }),
      key("upstreams", [](const Config& c) { return c.upstream.servers; }),
      key("upstream.timeout", [](const Config& c) { return c.upstream.timeout; }),
      key("upstream.deadline", [](const Config& c) { return c.upstream.deadline; }),
      key("upstream.max_inflight", [](const Config& c) { return c.upstream.max_inflight; }),
      key("upstream.max_inflight_per_upstream",
          [](const Config& c) { return c.upstream.max_inflight_per_upstream; }),
      key("upstream.zone_share", [](const Config& c) { return c.upstream.zone_share_percent; }),
      key("upstream.socket_reuse", [](const Config& c) { return c.upstream.socket_reuse; }),
      key("log.level", [](const Config& c) { return c.log.level; }),
      key("log.blocked_queries", [](const Config& c) { return c.log.blocked_queries; }),
      key("log.client_address", [](const Config& c) { return c.log.client_address; }),
      key("log.blocked_queries_format",
          [](const Config& c) { return c.log.blocked_queries_format; }),
      key("log.debug_query_rate", [](const Config& c) { return c.log.debug_query_rate; }),
      key("control.watch_files", [](const Config& c) { return c.control.watch_files; }),
      key("control.watch_debounce", [](const Config& c) { return c.control.watch_debounce; }),
      key("cache.max_bytes", [](const Config& c) { return c.cache.max_bytes; }),
      key("cache.min_ttl", [](const Config& c) { return c.cache.min_ttl; }),
      key("cache.max_ttl", [](const Config& c) { return c.cache.max_ttl; }),
      key("cache.max_negative_ttl", [](const Config& c) { return c.cache.max_negative_ttl; }),
      key("cache.serve_stale", [](const Config& c) { return c.cache.serve_stale; }),
      key("rate_limit.responses_per_second",
          [](const Config& c) { return c.rate_limit.responses_per_second; }),
      key("rate_limit.burst", [](const Config& c) { return c.rate_limit.burst; }),
      key("rate_limit.slip", [](const Config& c) { return c.rate_limit.slip; }),
      key("rate_limit.ipv4_prefix", [](const Config& c) { return c.rate_limit.ipv4_prefix; }),
      key("rate_limit.ipv6_prefix", [](const Config& c) { return c.rate_limit.ipv6_prefix; }),
      key("rate_limit.exempt", [](const Config& c) { return c.rate_limit.exempt; }),
  };
  return keys;
}

std::vector<std::string> differing(const std::vector<Key>& keys, const Config& a, const Config& b) {
  std::vector<std::string> out;
  for (const auto& k : keys)
    if (!k.same(a, b)) out.emplace_back(k.name);
  return out;
}

}  // namespace

std::vector<std::string> restart_required_changes(const Config& serving, const Config& next) {
  return differing(restart_keys(), serving, next);
}

std::vector<std::string> live_changes(const Config& serving, const Config& next) {
  return differing(live_keys(), serving, next);
}

void keep_restart_settings(Config& next, const Config& running) {
  ServerConfig& s = next.server;
  const ServerConfig& r = running.server;
  s.listen = r.listen;
  s.workers = r.workers;
  s.udp_payload = r.udp_payload;
  s.tcp_idle_timeout = r.tcp_idle_timeout;
  s.tcp_max_connections = r.tcp_max_connections;
  s.tcp_max_connections_per_client = r.tcp_max_connections_per_client;
  s.tcp_query_timeout = r.tcp_query_timeout;
  s.tcp_write_timeout = r.tcp_write_timeout;
  s.tcp_max_queued_bytes = r.tcp_max_queued_bytes;
  s.tcp_max_query_size = r.tcp_max_query_size;
  s.runtime_dir = r.runtime_dir;
  s.state_dir = r.state_dir;
  s.audit_log = r.audit_log;
  next.protected_users = running.protected_users;
  next.control.socket = running.control.socket;
  next.control.mode = running.control.mode;
  next.control.group = running.control.group;
  next.metrics = running.metrics;
  next.rate_limit.table_size = running.rate_limit.table_size;
  next.dnstap = running.dnstap;
}

std::string join_keys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

}  // namespace sinkhole::config
