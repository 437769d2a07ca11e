// SPDX-License-Identifier: MIT
#include "policy/legal_basis.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cctype>

#include "resolver/config/config_schema.h"
#include "resolver/config/yaml_reader.h"
#include "util/log_escape.h"

namespace sinkhole::policy {

namespace {

bool has_control(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  return false;
}

bool digits(std::string_view s) {
  for (const char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int number(std::string_view s) {
  int v = 0;
  for (const char c : s) v = v * 10 + (c - '0');
  return v;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

bool valid_iso_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  const auto y = s.substr(0, 4), m = s.substr(5, 2), d = s.substr(8, 2);
  if (!digits(y) || !digits(m) || !digits(d)) return false;
  const int year = number(y), month = number(m), day = number(d);
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

bool valid_basis_url(std::string_view s) {
  size_t scheme = 0;
  if (starts_with_nocase(s, "https://"))
    scheme = 8;
  else if (starts_with_nocase(s, "http://"))
    scheme = 7;
  else
    return false;
  if (s.size() == scheme || s[scheme] == '/' || s[scheme] == '?' || s[scheme] == '#')
    return false;  // no host
  for (const char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return false;
  return true;
}

void read_legal_basis(config::YamlReader& r, const YAML::Node& n, const std::string& where,
                      LegalBasis& out) {
  const std::string at = where + ".basis";
  if (!r.check_keys(n, config::schema::keys_of("lists.<name>.basis"), at)) return;
  if (n.size() == 0) {
    r.error_at(n, at + ": give at least one of authority, reference, date, url");
    return;
  }
  auto text = [&](const char* key, std::string& into) {
    const YAML::Node v = n[key];
    if (!v) return;
    const std::string what = at + "." + key;
    auto s = r.scalar(v, what);
    if (!s) return;
    if (s->empty())
      r.error_at(v, what + " is empty");
    else if (s->size() > kMaxBasisText)
      r.error_at(v, fmt::format("{} is longer than {} bytes", what, kMaxBasisText));
    else if (has_control(*s))
      r.error_at(v, what + " holds a control character (newline, tab, ...)");
    else
      into = std::move(*s);
  };
  text("authority", out.authority);
  text("reference", out.reference);
  if (const YAML::Node v = n["date"]) {
    if (auto s = r.scalar(v, at + ".date")) {
      if (valid_iso_date(*s))
        out.date = std::move(*s);
      else
        r.error_at(v, fmt::format("{}.date: '{}' is not a date written YYYY-MM-DD (e.g. "
                                  "2024-11-09)",
                                  at, util::escape_for_log(*s, 120)));
    }
  }
  if (const YAML::Node v = n["url"]) {
    if (auto s = r.scalar(v, at + ".url")) {
      if (valid_basis_url(*s))
        out.url = std::move(*s);
      else
        r.error_at(v, fmt::format("{}.url: '{}' is not an http:// or https:// address", at,
                                  util::escape_for_log(*s, 120)));
    }
  }
}

}  // namespace sinkhole::policy
