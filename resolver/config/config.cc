// SPDX-License-Identifier: MIT
// YAML → Config. Each section is read by one function that names its keys; any other key
// is an error at its own position, so typos never pass silently.
#include "resolver/config/config.h"

#include <algorithm>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "resolver/config/config_schema.h"
#include "resolver/config/resolv_conf.h"
#include "resolver/config/text_file.h"
#include "resolver/config/yaml_reader.h"

namespace sinkhole::config {

std::optional<Millis> parse_duration(std::string_view text) {
  size_t unit_at = 0;
  while (unit_at < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[unit_at])) || text[unit_at] == '.'))
    ++unit_at;
  if (unit_at == 0) return std::nullopt;
  double value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + unit_at, value);
  if (ec != std::errc() || p != text.data() + unit_at) return std::nullopt;
  const std::string_view unit = text.substr(unit_at);
  double ms = 0;
  constexpr double kMaxMs = 1e15;  // ~31,700 years: far beyond any sane timeout, fits Millis
  if (unit == "ms")
    ms = value;
  else if (unit == "s")
    ms = value * 1000;
  else if (unit == "m")
    ms = value * 60'000;
  else if (unit == "h")
    ms = value * 3'600'000;
  else if (unit == "d")
    ms = value * 86'400'000;
  else
    return std::nullopt;
  if (!(ms <= kMaxMs)) return std::nullopt;
  return Millis{static_cast<long long>(ms + 0.5)};
}

std::optional<double> parse_fraction(std::string_view text) {
  const bool percent = !text.empty() && text.back() == '%';
  if (percent) text.remove_suffix(1);
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.'))
    return std::nullopt;
  double value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  if (percent) value /= 100;
  if (!(value >= 0 && value <= 1)) return std::nullopt;
  return value;
}

std::optional<size_t> parse_size(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  size_t value = 0;
  std::from_chars(text.data(), text.data() + digits, value);
  const std::string_view unit = text.substr(digits);
  if (unit.empty() || unit == "B") return value;
  if (unit == "KiB") return value << 10;
  if (unit == "MiB") return value << 20;
  if (unit == "GiB") return value << 30;
  return std::nullopt;
}

namespace {

// A size ("256KiB", "4096") within [lo, hi] bytes.
std::optional<size_t> size_in(YamlReader& r, const YAML::Node& n, const std::string& what,
                              size_t lo, size_t hi) {
  auto v = r.scalar(n, what);
  if (!v) return std::nullopt;
  const auto bytes = parse_size(*v);
  if (!bytes || *bytes < lo || *bytes > hi) {
    r.error_at(n, fmt::format("{} must be a size from {} to {} bytes (e.g. 64KiB), not '{}'", what,
                              lo, hi, *v));
    return std::nullopt;
  }
  return bytes;
}

void read_server_tcp_limits(YamlReader& r, const YAML::Node& n, ServerConfig& s) {
  if (const auto c = n["tcp_max_connections_per_client"])
    if (auto v = r.unsigned_in(c, "server.tcp_max_connections_per_client", 1, 1'000'000))
      s.tcp_max_connections_per_client = static_cast<unsigned>(*v);
  if (const auto t = n["tcp_query_timeout"])
    if (auto d = r.duration(t, "server.tcp_query_timeout")) s.tcp_query_timeout = *d;
  if (const auto t = n["tcp_write_timeout"])
    if (auto d = r.duration(t, "server.tcp_write_timeout")) s.tcp_write_timeout = *d;
  // At least one maximal answer (64 KiB + its length prefix) must fit.
  if (const auto b = n["tcp_max_queued_bytes"])
    if (auto v = size_in(r, b, "server.tcp_max_queued_bytes", 65'537, size_t{1} << 30))
      s.tcp_max_queued_bytes = *v;
  if (const auto q = n["tcp_max_query_size"])
    if (auto v = size_in(r, q, "server.tcp_max_query_size", 512, 65'535)) s.tcp_max_query_size = *v;
}

void read_server(YamlReader& r, const YAML::Node& n, ServerConfig& s) {
  if (!r.check_keys(n, schema::keys_of("server"), "server")) return;
  if (n["listen"]) {
    s.listen = r.addresses(n["listen"], "server.listen", 53);
    if (s.listen.empty() && n["listen"].IsSequence())
      r.error_at(n["listen"], "server.listen must name at least one address");
  }
  if (const auto w = n["workers"]) {
    if (w.IsScalar() && w.Scalar() == "auto")
      s.workers = 0;
    else if (auto v = r.unsigned_in(w, "server.workers (or 'auto')", 1, 256))
      s.workers = static_cast<unsigned>(*v);
  }
  if (const auto p = n["udp_payload"])
    if (auto v = r.unsigned_in(p, "server.udp_payload", 512, 4096))
      s.udp_payload = static_cast<uint16_t>(*v);
  if (const auto t = n["tcp_idle_timeout"])
    if (auto d = r.duration(t, "server.tcp_idle_timeout")) s.tcp_idle_timeout = *d;
  if (const auto c = n["tcp_max_connections"])
    if (auto v = r.unsigned_in(c, "server.tcp_max_connections", 1, 1'000'000))
      s.tcp_max_connections = static_cast<unsigned>(*v);
  read_server_tcp_limits(r, n, s);
  if (const auto i = n["identity"])
    if (auto v = r.scalar(i, "server.identity")) s.identity = *v;
  if (const auto v = n["version"])
    if (auto t = r.scalar(v, "server.version")) s.version = *t;
  if (const auto d = n["runtime_dir"]) {
    auto v = r.scalar(d, "server.runtime_dir");
    if (v && (v->empty() || v->front() != '/'))
      r.error_at(d, fmt::format("server.runtime_dir must be an absolute path, not '{}'", *v));
    else if (v)
      s.runtime_dir = *v;
  }
  if (const auto d = n["state_dir"]) {
    auto v = r.scalar(d, "server.state_dir");
    if (v && (v->empty() || v->front() != '/'))
      r.error_at(d, fmt::format("server.state_dir must be an absolute path, not '{}'", *v));
    else if (v)
      s.state_dir = *v;
  }
  if (const auto a = n["audit_log"]) {
    auto v = r.scalar(a, "server.audit_log");
    if (v && !v->empty() && v->front() != '/')
      r.error_at(a, fmt::format("server.audit_log must be an absolute path or \"\", not '{}'", *v));
    else if (v)
      s.audit_log = *v;
  }
  read_access(r, n, s.access);
}

void read_upstream(YamlReader& r, const YAML::Node& n, UpstreamConfig& u) {
  if (!r.check_keys(n, schema::keys_of("upstream"), "upstream")) return;
  if (const auto t = n["timeout"])
    if (auto d = r.duration(t, "upstream.timeout")) u.timeout = *d;
  if (const auto t = n["deadline"])
    if (auto d = r.duration(t, "upstream.deadline")) u.deadline = *d;
  if (const auto m = n["max_inflight"])
    if (auto v = r.unsigned_in(m, "upstream.max_inflight", 1, 1'000'000))
      u.max_inflight = static_cast<unsigned>(*v);
  if (const auto m = n["max_inflight_per_upstream"])
    if (auto v = r.unsigned_in(m, "upstream.max_inflight_per_upstream", 1, 1'000'000))
      u.max_inflight_per_upstream = static_cast<unsigned>(*v);
  if (const auto z = n["zone_share"]) {
    // A percentage of max_inflight, written with its sign ("10%") so that nobody reads it
    // as a count of queries.
    auto s = r.scalar(z, "upstream.zone_share");
    unsigned pct = 0;
    const bool ok =
        s && s->size() >= 2 && s->size() <= 4 && s->back() == '%' &&
        std::all_of(s->begin(), s->end() - 1, [](char ch) { return ch >= '0' && ch <= '9'; }) &&
        (pct = static_cast<unsigned>(std::stoul(s->substr(0, s->size() - 1)))) >= 1 && pct <= 100;
    if (ok)
      u.zone_share_percent = pct;
    else if (s)
      r.error_at(
          z, fmt::format("upstream.zone_share must be a percentage from 1% to 100%, not '{}'", *s));
  }
  if (const auto m = n["socket_reuse"])
    if (auto v = r.unsigned_in(m, "upstream.socket_reuse", 1, 256))
      u.socket_reuse = static_cast<unsigned>(*v);
}

// true/false into `out`; an error for anything else.
void read_bool(YamlReader& r, const YAML::Node& n, const std::string& where, bool& out) {
  auto v = r.scalar(n, where);
  if (v && (*v == "true" || *v == "false"))
    out = *v == "true";
  else if (v)
    r.error_at(n, where + " must be true or false");
}

void read_log(YamlReader& r, const YAML::Node& n, LogConfig& l) {
  if (!r.check_keys(n, schema::keys_of("log"), "log")) return;
  if (const auto d = n["debug_query_rate"])
    if (auto v = r.unsigned_in(d, "log.debug_query_rate", 1, 1'000'000))
      l.debug_query_rate = static_cast<unsigned>(*v);
  if (const auto b = n["blocked_queries"])
    read_bool(r, b, "log.blocked_queries", l.blocked_queries);
  if (const auto f = n["blocked_queries_format"]) {
    if (auto s = r.scalar(f, "log.blocked_queries_format")) {
      if (*s == "text")
        l.blocked_queries_format = LogConfig::BlockedFormat::kText;
      else if (*s == "json")
        l.blocked_queries_format = LogConfig::BlockedFormat::kJson;
      else
        r.error_at(f, fmt::format("log.blocked_queries_format '{}' is not one of text, json", *s));
    }
  }
  if (const auto c = n["client_address"]) {
    if (auto s = r.scalar(c, "log.client_address")) {
      if (*s == "none")
        l.client_address = LogConfig::ClientAddress::kNone;
      else if (*s == "truncated")
        l.client_address = LogConfig::ClientAddress::kTruncated;
      else if (*s == "full")
        l.client_address = LogConfig::ClientAddress::kFull;
      else
        r.error_at(c,
                   fmt::format("log.client_address '{}' is not one of none, truncated, full", *s));
    }
  }
  if (const auto lv = n["level"]) {
    static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};
    if (auto s = r.scalar(lv, "log.level")) {
      if (kLevels.count(*s))
        l.level = *s;
      else
        r.error_at(lv, fmt::format("log.level '{}' is not one of trace, debug, info, warn, "
                                   "error, critical, off",
                                   *s));
    }
  }
}

void read_cache(YamlReader& r, const YAML::Node& n, CacheConfig& c) {
  if (!r.check_keys(n, schema::keys_of("cache"), "cache")) return;
  if (const auto m = n["max_bytes"]) {
    auto s = r.scalar(m, "cache.max_bytes");
    auto v = s ? parse_size(*s) : std::nullopt;
    if (v)
      c.max_bytes = *v;
    else if (s)
      r.error_at(
          m, fmt::format("cache.max_bytes must be a size like 256MiB or 0 (off), not '{}'", *s));
  }
  auto duration_or_zero = [&](const char* key) -> std::optional<Millis> {
    const auto t = n[key];
    if (!t) return std::nullopt;
    auto s = r.scalar(t, std::string("cache.") + key);
    if (!s) return std::nullopt;
    if (*s == "0") return Millis{0};
    if (auto d = parse_duration(*s)) return d;
    r.error_at(
        t, fmt::format("cache.{} must be a duration like 300s or 1d (or 0), not '{}'", key, *s));
    return std::nullopt;
  };
  if (auto d = duration_or_zero("min_ttl")) c.min_ttl = static_cast<uint32_t>(d->count() / 1000);
  if (auto d = duration_or_zero("max_ttl")) c.max_ttl = static_cast<uint32_t>(d->count() / 1000);
  if (auto d = duration_or_zero("max_negative_ttl"))
    c.max_negative_ttl = static_cast<uint32_t>(d->count() / 1000);
  if (auto d = duration_or_zero("serve_stale")) c.serve_stale = *d;
}

void read_control(YamlReader& r, const YAML::Node& n, ControlConfig& c) {
  if (!r.check_keys(n, schema::keys_of("control"), "control")) return;
  if (const auto s = n["socket"])
    if (auto v = r.scalar(s, "control.socket")) c.socket = *v;
  if (const auto m = n["mode"]) {
    // Octal as written ("0660"); YAML would read an unquoted 0660 as decimal 660.
    auto v = r.scalar(m, "control.mode");
    unsigned mode = 0;
    const bool ok =
        v && !v->empty() && v->size() <= 4 &&
        std::all_of(v->begin(), v->end(), [](char ch) { return ch >= '0' && ch <= '7'; });
    if (ok) {
      for (char ch : *v) mode = mode * 8 + static_cast<unsigned>(ch - '0');
      c.mode = mode;
    } else if (v) {
      r.error_at(m, fmt::format("control.mode must be octal permissions like 0660, not '{}'", *v));
    }
  }
  if (const auto g = n["group"])
    if (auto v = r.scalar(g, "control.group")) c.group = *v;
  if (const auto w = n["watch_files"]) {
    auto v = r.scalar(w, "control.watch_files");
    if (v && (*v == "true" || *v == "false"))
      c.watch_files = *v == "true";
    else if (v)
      r.error_at(w, "control.watch_files must be true or false");
  }
  if (const auto d = n["watch_debounce"])
    if (auto v = r.duration(d, "control.watch_debounce")) c.watch_debounce = *v;
}

void read_metrics(YamlReader& r, const YAML::Node& n, MetricsConfig& m) {
  if (!r.check_keys(n, schema::keys_of("metrics"), "metrics")) return;
  if (const auto c = n["max_connections"])
    if (auto v = r.unsigned_in(c, "metrics.max_connections", 1, 65'536))
      m.max_connections = static_cast<unsigned>(*v);
  if (const auto c = n["max_connections_per_client"])
    if (auto v = r.unsigned_in(c, "metrics.max_connections_per_client", 1, 65'536))
      m.max_connections_per_client = static_cast<unsigned>(*v);
  if (const auto t = n["timeout"]) {
    // libmicrohttpd counts whole seconds.
    if (auto d = r.duration(t, "metrics.timeout")) {
      if (d->count() % 1000 != 0)
        r.error_at(t, "metrics.timeout must be whole seconds (e.g. 5s)");
      else
        m.timeout = *d;
    }
  }
  if (const auto l = n["listen"]) {
    auto v = r.scalar(l, "metrics.listen");
    if (!v) return;
    if (auto a = SocketAddress::parse(*v, 9153))
      m.listen = *a;
    else
      r.error_at(
          l, fmt::format("metrics.listen must be an address like 127.0.0.1:9153, not '{}'", *v));
  }
}

void read_protected_users(YamlReader& r, const YAML::Node& n, const std::string& config_path,
                          ProtectedUsersConfig& p) {
  if (!r.check_keys(n, schema::keys_of("protected_users"), "protected_users")) return;
  const auto k = n["key_file"];
  if (!k) return;
  auto v = r.scalar(k, "protected_users.key_file");
  if (!v) return;
  if (v->empty()) return r.error_at(k, "protected_users.key_file must name a file");
  const std::filesystem::path path(*v);
  p.key_file =
      path.is_absolute() ? *v : (std::filesystem::path(config_path).parent_path() / path).string();
  p.key_file_at = fmt::format("{}:{}:{}", config_path, k.Mark().line + 1, k.Mark().column + 1);
}

}  // namespace

DocumentResult parse_document(std::string_view yaml, const std::string& name) {
  DocumentResult result;
  try {
    auto text = std::make_shared<const std::string>(yaml);
    result.document = Document{name, YAML::Load(*text), text};
  } catch (const YAML::ParserException& e) {
    YamlReader r(name);
    r.error(e.mark, e.msg);
    result.errors = std::move(r.errors());
  }
  return result;
}

DocumentResult load_document(const std::string& path) {
  std::string error;
  const auto text = read_text_file(path, &error);
  if (!text) {
    DocumentResult r;
    r.errors.push_back(error);
    return r;
  }
  return parse_document(*text, path);
}

LoadResult parse_config(const Document& doc, const std::string& resolv_conf) {
  LoadResult result;
  const std::string& name = doc.path;
  const YAML::Node& root = doc.root;  // const: lookups of absent keys must not add them
  YamlReader r(name);
  Config c;
  c.path = name;
  c.server.listen = {*SocketAddress::parse("127.0.0.1:53", 53),
                     *SocketAddress::parse("[::1]:53", 53)};
  try {
    if (root.IsNull()) {
      // An empty file is a valid config: every default applies.
    } else if (r.check_keys(root, schema::keys_of(""), "the top level")) {
      c.set_keys = schema::keys_set(root);
      // lists, list_defaults, actions, policies and default_policy belong to the policy model
      // (policy/snapshot_builder), which reads them from the same document.
      if (root["server"]) read_server(r, root["server"], c.server);
      if (root["upstreams"]) {
        c.upstream.servers = r.addresses(root["upstreams"], "upstreams", 53);
        if (c.upstream.servers.empty() && root["upstreams"].IsSequence())
          r.error_at(root["upstreams"], "upstreams must name at least one address");
        // Each query tracks tried upstreams in a 32-bit mask.
        if (c.upstream.servers.size() > 32)
          r.error_at(root["upstreams"], "upstreams: at most 32 addresses");
      }
      if (root["upstream"]) read_upstream(r, root["upstream"], c.upstream);
      if (root["log"]) read_log(r, root["log"], c.log);
      if (root["control"]) read_control(r, root["control"], c.control);
      if (root["cache"]) read_cache(r, root["cache"], c.cache);
      if (root["dnstap"]) read_dnstap(r, root["dnstap"], c.dnstap);
      if (root["metrics"]) read_metrics(r, root["metrics"], c.metrics);
      if (root["rate_limit"]) read_rate_limit(r, root["rate_limit"], c.rate_limit);
      if (root["protected_users"])
        read_protected_users(r, root["protected_users"], name, c.protected_users);
    }
    if (!root.IsMap() || !root["control"] || !root["control"].IsMap() || !root["control"]["socket"])
      c.control.socket = c.server.runtime_dir + "/control.sock";
  } catch (const YAML::Exception& e) {
    r.error(e.mark, e.msg);
  }
  if (c.upstream.timeout > c.upstream.deadline && root["upstream"])
    r.error_at(root["upstream"], "upstream.timeout must not exceed upstream.deadline");
  if (r.errors().empty() && c.upstream.servers.empty()) {
    c.upstream.servers = read_resolv_conf(resolv_conf);
    c.upstream.from_resolv_conf = true;
    if (c.upstream.servers.empty())
      r.errors().push_back(
          fmt::format("{}: no upstreams configured and no nameserver in {}", name, resolv_conf));
  }
  result.errors = std::move(r.errors());
  if (result.errors.empty()) result.config = std::move(c);
  return result;
}

namespace {

LoadResult config_from(DocumentResult doc, const std::string& resolv_conf) {
  if (!doc.document) {
    LoadResult r;
    r.errors = std::move(doc.errors);
    return r;
  }
  return parse_config(*doc.document, resolv_conf);
}

}  // namespace

LoadResult parse_config(std::string_view yaml, const std::string& name,
                        const std::string& resolv_conf) {
  return config_from(parse_document(yaml, name), resolv_conf);
}

LoadResult load_config(const std::string& path, const std::string& resolv_conf) {
  return config_from(load_document(path), resolv_conf);
}

}  // namespace sinkhole::config
