// SPDX-License-Identifier: MIT
#include "policy/list_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string_view>

#include "policy/tsig_key.h"
#include "resolver/config/config.h"

namespace sinkhole::policy {

namespace {

constexpr std::array<std::string_view, 4> kRpzKeys = {"primary", "zone", "tsig", "on_expire"};
constexpr std::array<std::string_view, 5> kHttpKeys = {"url", "refresh", "max_bytes", "timeout",
                                                       "ca_file"};

std::string resolve(const std::filesystem::path& base, const std::string& p) {
  const std::filesystem::path path(p);
  return (path.is_relative() ? base / path : path).lexically_normal().string();
}

bool known_algorithm(const std::string& a) {
  for (const char* k :
       {"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"})
    if (a == k) return true;
  return false;
}

void read_tsig(config::YamlReader& r, const YAML::Node& t, const std::string& where,
               const std::filesystem::path& base, RpzFeedSpec& out) {
  if (!t.IsMap()) return r.error_at(t, where + " must be a mapping (name, algorithm, secret_file)");
  if (!r.check_keys(t, {"name", "algorithm", "secret_file"}, where)) return;
  TsigKeySpec k;
  if (!t["name"] || !t["secret_file"])
    return r.error_at(t, where + " needs a name and a secret_file");
  if (auto s = r.scalar(t["name"], where + ".name")) k.name = *s;
  if (auto s = r.scalar(t["secret_file"], where + ".secret_file"))
    k.secret_file = resolve(base, *s);
  if (const auto a = t["algorithm"]) {
    if (auto s = r.scalar(a, where + ".algorithm")) {
      if (!known_algorithm(*s))
        return r.error_at(a, fmt::format("{}.algorithm: '{}' is not one of hmac-md5, hmac-sha1, "
                                         "hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512",
                                         where, *s));
      k.algorithm = *s;
    }
  }
  // Read now, at build time: a missing or broken key is a configuration error of this build.
  std::ifstream in(k.secret_file);
  if (!in)
    return r.error_at(t["secret_file"],
                      fmt::format("{}.secret_file: cannot read {}", where, k.secret_file));
  std::stringstream text;
  text << in.rdbuf();
  TsigFileKey fk;
  std::string err;
  if (!parse_tsig_key_text(text.str(), fk, &err))
    return r.error_at(t["secret_file"],
                      fmt::format("{}.secret_file {}: {}", where, k.secret_file, err));
  if (!fk.name.empty() && fk.name != k.name)
    return r.error_at(t["name"], fmt::format("{}.name '{}' but {} holds the key '{}'", where,
                                             k.name, k.secret_file, fk.name));
  if (!fk.algorithm.empty() && fk.algorithm != k.algorithm)
    return r.error_at(t["secret_file"], fmt::format("{}.algorithm {} but {} holds a {} key", where,
                                                    k.algorithm, k.secret_file, fk.algorithm));
  k.secret = std::move(fk.secret);
  out.tsig = std::move(k);
}

void read_rpz(config::YamlReader& r, const YAML::Node& l, const std::string& where,
              const std::filesystem::path& base, RpzFeedSpec& out) {
  const auto p = l["primary"];
  if (p.IsScalar()) {  // one primary, without the brackets
    if (auto a = config::SocketAddress::parse(p.Scalar(), 53))
      out.primaries.push_back(*a);
    else
      r.error_at(p, fmt::format("{}.primary: '{}' is not an address (use 1.2.3.4:53 or [::1]:53)",
                                where, p.Scalar()));
  } else {
    out.primaries = r.addresses(p, where + ".primary", 53);
  }
  if (out.primaries.empty() && p.IsSequence()) r.error_at(p, where + ".primary is empty");
  if (!l["zone"]) return r.error_at(l, where + " has a primary but no zone");
  if (auto z = r.scalar(l["zone"], where + ".zone")) {
    std::string zone = *z;
    if (!zone.empty() && zone.back() == '.') zone.pop_back();
    if (zone.empty() || zone.find("..") != std::string::npos || zone.size() > 253)
      return r.error_at(l["zone"], fmt::format("{}.zone: '{}' is not a zone name", where, *z));
    for (auto& c : zone) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.zone = std::move(zone);
  }
  if (const auto t = l["tsig"]) read_tsig(r, t, where + ".tsig", base, out);
  if (const auto e = l["on_expire"]) {
    if (auto s = r.scalar(e, where + ".on_expire")) {
      if (*s == "keep")
        out.on_expire = RpzFeedSpec::OnExpire::kKeep;
      else if (*s == "drop")
        out.on_expire = RpzFeedSpec::OnExpire::kDrop;
      else
        r.error_at(e, fmt::format("{}.on_expire must be keep or drop, not '{}'", where, *s));
    }
  }
}

void read_http(config::YamlReader& r, const YAML::Node& l, const std::string& where,
               const std::filesystem::path& base, HttpFeedSpec& out) {
  if (auto u = r.scalar(l["url"], where + ".url")) {
    if (!u->starts_with("http://") && !u->starts_with("https://"))
      r.error_at(l["url"],
                 fmt::format("{}.url must start with http:// or https://, not '{}'", where, *u));
    else
      out.url = *u;
  }
  if (const auto f = l["refresh"])
    if (auto d = r.duration(f, where + ".refresh")) {
      if (*d < std::chrono::seconds(10))
        r.error_at(f, where + ".refresh must be at least 10s");
      else
        out.refresh_seconds =
            static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(*d).count());
    }
  if (const auto m = l["max_bytes"])
    if (auto s = r.scalar(m, where + ".max_bytes")) {
      const auto v = config::parse_size(*s);
      if (!v || *v == 0)
        r.error_at(m, fmt::format("{}.max_bytes must be a size (e.g. 64MiB), not '{}'", where, *s));
      else
        out.max_bytes = *v;
    }
  if (const auto t = l["timeout"])
    if (auto d = r.duration(t, where + ".timeout"))
      out.timeout_seconds = static_cast<uint32_t>(
          std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(*d).count()));
  if (const auto c = l["ca_file"])
    if (auto s = r.scalar(c, where + ".ca_file")) out.ca_file = resolve(base, *s);
}

}  // namespace

const char* source_name(ListSource::Kind k) {
  switch (k) {
    case ListSource::Kind::kRpz:
      return "rpz";
    case ListSource::Kind::kHttp:
      return "http";
    case ListSource::Kind::kFile:
      break;
  }
  return "file";
}

void read_list_source(config::YamlReader& r, const YAML::Node& l, const std::string& where,
                      const std::filesystem::path& base, ListSource& out) {
  const bool rpz = bool(l["primary"]), http = bool(l["url"]), file = bool(l["path"]);
  if (rpz + http + file != 1)
    return r.error_at(l, fmt::format("{} needs exactly one of path, primary (an RPZ primary) or "
                                     "url (an HTTP source)",
                                     where));
  // A key of the other kind of feed is a mistake worth naming, not a silent no-op.
  for (const auto k : kRpzKeys)
    if (!rpz && l[std::string(k)])
      r.error_at(l[std::string(k)],
                 fmt::format("{}.{} is for an RPZ secondary (primary:)", where, k));
  for (const auto k : kHttpKeys)
    if (!http && l[std::string(k)])
      r.error_at(l[std::string(k)], fmt::format("{}.{} is for an HTTP source (url:)", where, k));
  if (const auto u = l["updates"]) {
    if (!rpz && !http) {
      r.error_at(u, fmt::format("{}.updates is for a feed list (primary: or url:); a file "
                                "list's new versions are staged with sinkholectl list stage",
                                where));
    } else if (auto s = r.scalar(u, where + ".updates")) {
      if (*s == "enforce")
        out.updates = ListSource::Updates::kEnforce;
      else if (*s == "stage")
        out.updates = ListSource::Updates::kStage;
      else
        r.error_at(u, fmt::format("{}.updates must be enforce or stage, not '{}'", where, *s));
    }
  }
  if (rpz) {
    out.kind = ListSource::Kind::kRpz;
    read_rpz(r, l, where, base, out.rpz);
  } else if (http) {
    out.kind = ListSource::Kind::kHttp;
    read_http(r, l, where, base, out.http);
  }
}

}  // namespace sinkhole::policy
