// SPDX-License-Identifier: MIT
// YAML → Config. Each section is read by one function that names its keys; any other key
// is an error at its own position, so typos never pass silently.
#include "resolver/config/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "resolver/config/resolv_conf.h"

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
  else
    return std::nullopt;
  if (!(ms <= kMaxMs)) return std::nullopt;
  return Millis{static_cast<long long>(ms + 0.5)};
}

namespace {

class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  void error(const YAML::Mark& m, const std::string& msg) {
    // yaml-cpp marks are 0-based; editors count from 1.
    errors_.push_back(fmt::format("{}:{}:{}: {}", name_, m.line + 1, m.column + 1, msg));
  }
  void error_at(const YAML::Node& n, const std::string& msg) { error(n.Mark(), msg); }

  // Reports keys of `map` not in `allowed`; returns false if `map` is not a map.
  bool check_keys(const YAML::Node& map, const std::set<std::string>& allowed,
                  const std::string& where) {
    if (!map.IsMap()) {
      error_at(map, fmt::format("{} must be a mapping", where));
      return false;
    }
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      // yaml-cpp keeps both copies of a repeated key and node[key] returns the first, so
      // the second value would be silently ignored: reject it where it stands.
      if (!seen.insert(key).second) {
        error_at(kv.first, fmt::format("key '{}' repeated in {}", key, where));
        continue;
      }
      if (!allowed.count(key)) {
        std::string known;
        for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
        error_at(kv.first, fmt::format("unknown key '{}' in {} (known: {})", key, where, known));
      }
    }
    return true;
  }

  std::optional<std::string> scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      error_at(n, fmt::format("{} must be a scalar", what));
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<unsigned long> unsigned_in(const YAML::Node& n, const std::string& what,
                                           unsigned long lo, unsigned long hi) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    unsigned long v = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size() || v < lo || v > hi) {
      error_at(n, fmt::format("{} must be an integer from {} to {}, not '{}'", what, lo, hi, *s));
      return std::nullopt;
    }
    return v;
  }

  std::optional<Millis> duration(const YAML::Node& n, const std::string& what) {
    auto s = scalar(n, what);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d || d->count() <= 0) {
      error_at(n, fmt::format("{} must be a positive duration with a unit (e.g. 1500ms, 2s), "
                              "not '{}'",
                              what, *s));
      return std::nullopt;
    }
    return d;
  }

  std::vector<SocketAddress> addresses(const YAML::Node& n, const std::string& what,
                                       uint16_t default_port) {
    std::vector<SocketAddress> out;
    if (!n.IsSequence()) {
      error_at(n, fmt::format("{} must be a list of addresses", what));
      return out;
    }
    for (const auto& item : n) {
      auto s = scalar(item, what);
      if (!s) continue;
      auto a = SocketAddress::parse(*s, default_port);
      if (!a) {
        error_at(item,
                 fmt::format("{}: '{}' is not an address (use 1.2.3.4:53 or [::1]:53)", what, *s));
        continue;
      }
      out.push_back(*a);
    }
    return out;
  }

  std::vector<std::string>& errors() { return errors_; }

 private:
  std::string name_;
  std::vector<std::string> errors_;
};

void read_server(Reader& r, const YAML::Node& n, ServerConfig& s) {
  if (!r.check_keys(n,
                    {"listen", "workers", "udp_payload", "tcp_idle_timeout", "tcp_max_connections",
                     "identity", "version"},
                    "server"))
    return;
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
  if (const auto i = n["identity"])
    if (auto v = r.scalar(i, "server.identity")) s.identity = *v;
  if (const auto v = n["version"])
    if (auto t = r.scalar(v, "server.version")) s.version = *t;
}

void read_upstream(Reader& r, const YAML::Node& n, UpstreamConfig& u) {
  if (!r.check_keys(n, {"timeout", "deadline"}, "upstream")) return;
  if (const auto t = n["timeout"])
    if (auto d = r.duration(t, "upstream.timeout")) u.timeout = *d;
  if (const auto t = n["deadline"])
    if (auto d = r.duration(t, "upstream.deadline")) u.deadline = *d;
}

void read_log(Reader& r, const YAML::Node& n, LogConfig& l) {
  if (!r.check_keys(n, {"level"}, "log")) return;
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

}  // namespace

LoadResult parse_config(std::string_view yaml, const std::string& name,
                        const std::string& resolv_conf) {
  LoadResult result;
  Reader r(name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    r.error(e.mark, e.msg);
    result.errors = std::move(r.errors());
    return result;
  }
  Config c;
  c.path = name;
  c.server.listen = {*SocketAddress::parse("127.0.0.1:53", 53),
                     *SocketAddress::parse("[::1]:53", 53)};
  try {
    if (root.IsNull()) {
      // An empty file is a valid config: every default applies.
    } else if (r.check_keys(root, {"server", "upstreams", "upstream", "log"}, "the top level")) {
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
    }
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

LoadResult load_config(const std::string& path, const std::string& resolv_conf) {
  std::ifstream f(path);
  if (!f) {
    LoadResult r;
    r.errors.push_back(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    return r;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config(ss.str(), path, resolv_conf);
}

}  // namespace sinkhole::config
