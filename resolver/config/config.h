// SPDX-License-Identifier: MIT
// The daemon's configuration model and its YAML loader. Loading is all-or-nothing: any
// unknown key or bad value yields diagnostics of the form `file:line:column: message`
// and no Config. The file is parsed once into a Document (yaml_reader.h); this reads the
// server settings from it, and policy/snapshot_builder the lists, actions and policies.
// Load path only: the control thread at start-up, the reload work thread.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/config/access_config.h"
#include "resolver/config/dnstap_config.h"
#include "resolver/config/socket_address.h"

namespace sinkhole::config {

using Millis = std::chrono::milliseconds;

inline constexpr const char* kDefaultStateDir = "/var/lib/sinkholed";

struct ServerConfig {
  std::vector<SocketAddress> listen;
  unsigned workers = 0;         // 0 = one per core ("auto")
  uint16_t udp_payload = 1232;  // our EDNS payload size, and the UDP reply cap
  // TCP clients (resolver/net/tcp_listener.h says how each limit is enforced).
  Millis tcp_idle_timeout{10'000};               // RFC 7766 §6.2.3 suggests seconds, not minutes
  unsigned tcp_max_connections = 1000;           // per worker; at the limit the idlest gives way
  unsigned tcp_max_connections_per_client = 64;  // per client address, per worker
  Millis tcp_query_timeout{5'000};   // first byte of a frame → whole frame, else close
  Millis tcp_write_timeout{10'000};  // queued answers that make no progress → close
  size_t tcp_max_queued_bytes = size_t{256} << 10;  // answer bytes waiting per connection
  size_t tcp_max_query_size = 4096;                 // as the UDP path: larger frames close
  std::optional<std::string> identity;              // answers id.server / hostname.bind when set
  std::optional<std::string> version;  // answers version.bind / version.server when set
  AccessConfig access;                 // allow_query, deny_query, refuse_action
  // Lock files (one sinkholed per listen address: control/instance_lock.h) and, unless
  // control.socket says otherwise, the control socket. Created (one level) if missing.
  std::string runtime_dir = "/run/sinkholed";
  // Feed lists' saved copies (resolver/feeds/list_store.h), the local override list and
  // the audit log: what must survive a restart. Created (one level) if missing.
  std::string state_dir = kDefaultStateDir;
  // One JSON line per change of a list (resolver/feeds/audit_log.h). Unset:
  // <state_dir>/audit.log; "" turns it off.
  std::optional<std::string> audit_log;
  std::string audit_log_path() const { return audit_log ? *audit_log : state_dir + "/audit.log"; }
};

struct UpstreamConfig {
  std::vector<SocketAddress> servers;
  bool from_resolv_conf = false;  // true when `upstreams:` was absent
  Millis timeout{1500};           // one attempt at one upstream
  Millis deadline{2000};          // SERVFAIL to the client after this, whatever happened
  // Bounds on one worker's upstream work (resolver/upstream/inflight_table.h): past them a
  // new question gets a stale answer or SERVFAIL at once, so a dead zone or upstream can
  // never take every socket or file descriptor.
  unsigned max_inflight = 4096;               // distinct questions waiting on upstreams
  unsigned max_inflight_per_upstream = 2048;  // attempts waiting on one upstream
  unsigned zone_share_percent = 10;           // of max_inflight, per zone (zone_key.h)
  unsigned socket_reuse = 16;                 // UDP attempts per upstream socket
  // max_inflight × zone_share_percent / 100, at least 1.
  unsigned zone_limit() const {
    const unsigned long v = static_cast<unsigned long>(max_inflight) * zone_share_percent / 100;
    return v ? static_cast<unsigned>(v) : 1;
  }
};

struct LogConfig {
  std::string level = "info";
  // At level debug: per-query decision lines per second per worker (more are counted and
  // summarised in one "suppressed" line a second).
  unsigned debug_query_rate = 100;
  // One line per blocked query (time, name, qtype, policy, list, category, action, rcode)
  // when true.
  bool blocked_queries = false;
  // What those lines say about the client: nothing (default), the address truncated to
  // its /24 or /48, or the full address (only where the operator's privacy rules allow it).
  enum class ClientAddress : uint8_t { kNone, kTruncated, kFull };
  ClientAddress client_address = ClientAddress::kNone;
  // How those lines are written: `key=value` text after the time (default), or one JSON
  // object per line (JSON Lines) for log shippers. The fields are the same.
  enum class BlockedFormat : uint8_t { kText, kJson };
  BlockedFormat blocked_queries_format = BlockedFormat::kText;
};

struct MetricsConfig {
  // Prometheus /metrics and the warning page's /explain; unset = no HTTP listener.
  std::optional<SocketAddress> listen;
  // libmicrohttpd's limits: half-open connections must not lock the scraper out.
  unsigned max_connections = 256;
  unsigned max_connections_per_client = 16;  // per source address
  Millis timeout{5'000};                     // no bytes for this long → connection closed
};

// Protected users (resolver/metrics/protected_users.h): the key of the address hash. A
// fleet shares one key file so that its nodes' sketches can be merged
// (sinkholectl fleet-report); unset = a random key per process. Read at start only.
struct ProtectedUsersConfig {
  std::string key_file;     // absolute (relative paths are anchored at the config's directory)
  std::string key_file_at;  // "file:line:column" of the setting, for the start-up error
};

struct CacheConfig {
  size_t max_bytes = size_t{256} << 20;  // 0 disables the cache
  uint32_t min_ttl = 0;                  // seconds
  uint32_t max_ttl = 86400;
  uint32_t max_negative_ttl = 3600;
  Millis serve_stale{86'400'000};  // RFC 8767 window past expiry; 0 = off
};

struct ControlConfig {
  // "" disables it; unset: <server.runtime_dir>/control.sock. Its directory must exist.
  std::string socket = "/run/sinkholed/control.sock";
  unsigned mode = 0660;         // of the socket file
  std::string group;            // group owning the socket ("" = the server's own group)
  bool watch_files = true;      // reload when config or a list changes
  Millis watch_debounce{1000};  // wait for writes to settle
};

struct Config {
  std::string path;
  ServerConfig server;
  UpstreamConfig upstream;
  LogConfig log;
  ControlConfig control;
  CacheConfig cache;
  std::optional<DnstapConfig> dnstap;  // absent section: no dnstap
  MetricsConfig metrics;
  RateLimitConfig rate_limit;  // absent section: off
  ProtectedUsersConfig protected_users;
  // The paths of the settings above that the file sets (config_schema.h): `config show`
  // marks the others as defaults.
  std::set<std::string> set_keys;
};

// "256MiB", "1GiB", "64KiB", "1000000" (bytes) → bytes.
std::optional<size_t> parse_size(std::string_view text);

struct LoadResult {
  std::optional<Config> config;
  std::vector<std::string> errors;  // each "file:line:column: message"
};

struct Document;  // yaml_reader.h

// Reads the whole document: the server settings into a Config, and every top-level key
// checked (the policy keys are read by policy::build_snapshot from the same document).
// `resolv_conf` supplies the default upstreams when the config has none.
LoadResult parse_config(const Document& doc, const std::string& resolv_conf = "/etc/resolv.conf");
// The same from YAML text (`name` is used in diagnostics), or from the file at `path`.
LoadResult parse_config(std::string_view yaml, const std::string& name,
                        const std::string& resolv_conf = "/etc/resolv.conf");
LoadResult load_config(const std::string& path,
                       const std::string& resolv_conf = "/etc/resolv.conf");

// "1500ms", "1.5s", "2s", "1m" → milliseconds.
std::optional<Millis> parse_duration(std::string_view text);
// "1%", "0.5%", "0.01", "1" → a fraction from 0 to 1 (list guard ratios).
std::optional<double> parse_fraction(std::string_view text);

}  // namespace sinkhole::config
