// SPDX-License-Identifier: MIT
#include "resolver/config/access_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <type_traits>

#include "resolver/config/config_schema.h"
#include "resolver/config/yaml_reader.h"

namespace sinkhole::config {

std::vector<policy::Cidr> AccessConfig::default_allow_query() {
  std::vector<policy::Cidr> out;
  for (const char* text : {"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12",
                           "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"})
    out.push_back(*policy::parse_cidr(text, nullptr));
  return out;
}

namespace {

std::vector<policy::Cidr> read_cidrs(YamlReader& r, const YAML::Node& n, const std::string& what) {
  std::vector<policy::Cidr> out;
  if (!n.IsSequence()) {
    r.error_at(n, fmt::format("{} must be a list of prefixes like 10.0.0.0/8", what));
    return out;
  }
  for (const auto& item : n) {
    auto s = r.scalar(item, what);
    if (!s) continue;
    std::string err;
    if (auto cidr = policy::parse_cidr(*s, &err))
      out.push_back(*cidr);
    else
      r.error_at(item, fmt::format("{}: '{}': {}", what, *s, err));
  }
  return out;
}

}  // namespace

void read_access(YamlReader& r, const YAML::Node& n, AccessConfig& out) {
  if (const auto a = n["allow_query"]) out.allow_query = read_cidrs(r, a, "server.allow_query");
  if (const auto d = n["deny_query"]) out.deny_query = read_cidrs(r, d, "server.deny_query");
  if (const auto p = n["proxy_protocol_from"])
    out.proxy_protocol_from = read_cidrs(r, p, "server.proxy_protocol_from");
  if (const auto a = n["refuse_action"]) {
    if (auto s = r.scalar(a, "server.refuse_action")) {
      if (*s == "refuse")
        out.refuse_action = AccessConfig::RefuseAction::kRefuse;
      else if (*s == "drop")
        out.refuse_action = AccessConfig::RefuseAction::kDrop;
      else
        r.error_at(a, fmt::format("server.refuse_action '{}' is not one of refuse, drop", *s));
    }
  }
}

void read_rate_limit(YamlReader& r, const YAML::Node& n, RateLimitConfig& out) {
  if (!r.check_keys(n, schema::keys_of("rate_limit"), "rate_limit")) return;
  auto number = [&](const char* key, unsigned long lo, unsigned long hi, auto& field) {
    if (const auto v = n[key])
      if (auto x = r.unsigned_in(v, fmt::format("rate_limit.{}", key), lo, hi))
        field = static_cast<std::remove_reference_t<decltype(field)>>(*x);
  };
  number("responses_per_second", 0, 1'000'000, out.responses_per_second);
  number("burst", 0, 10'000'000, out.burst);
  number("slip", 0, 10, out.slip);
  number("ipv4_prefix", 8, 32, out.ipv4_prefix);
  number("ipv6_prefix", 16, 128, out.ipv6_prefix);
  number("table_size", 1024, 16'777'216, out.table_size);
  if (const auto e = n["exempt"]) out.exempt = read_cidrs(r, e, "rate_limit.exempt");
}

}  // namespace sinkhole::config
