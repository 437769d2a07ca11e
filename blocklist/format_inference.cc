// SPDX-License-Identifier: MIT
#include "blocklist/format_inference.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <cstring>

#include "util/log_escape.h"

namespace sinkhole::blocklist {

namespace {

// What one sniffed line looks like.
enum class Kind : uint8_t { kHosts, kAdblock, kZone, kPattern, kName, kOther };

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

bool istarts(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequal(s.substr(0, prefix.size()), prefix);
}

// Whitespace-separated fields, at most N.
template <size_t N>
size_t fields(std::string_view s, std::array<std::string_view, N>& out) {
  size_t n = 0;
  while (n < N) {
    s = trim(s);
    if (s.empty()) break;
    size_t end = 0;
    while (end < s.size() && !blank(s[end])) ++end;
    out[n++] = s.substr(0, end);
    s.remove_prefix(end);
  }
  return n;
}

bool is_address(std::string_view field) {
  field = field.substr(0, field.find('%'));  // fe80::1%lo0
  char buf[INET6_ADDRSTRLEN + 1];
  if (field.empty() || field.size() >= sizeof buf) return false;
  std::memcpy(buf, field.data(), field.size());
  buf[field.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

bool is_rr_type(std::string_view f) {
  for (std::string_view t : {"SOA", "NS", "CNAME", "DNAME", "A", "AAAA", "TXT", "MX", "PTR", "IN"})
    if (iequal(f, t)) return true;
  return false;
}

// A single field with `*` other than one leading `*.` label: a wildcard pattern.
bool is_wildcard(std::string_view f) {
  if (f.starts_with("*.")) f.remove_prefix(2);
  return f.find('*') != std::string_view::npos;
}

// `strong` is set for a line that only an RPZ zone has ($ORIGIN, $TTL, SOA, CNAME).
Kind classify(std::string_view raw, bool& strong) {
  strong = false;
  std::string_view line = trim(raw);
  if (line.starts_with('$')) {
    strong = istarts(line, "$ORIGIN") || istarts(line, "$TTL") || istarts(line, "$INCLUDE");
    return strong ? Kind::kZone : Kind::kOther;
  }
  // A trailing comment after blanks (`name # why`); `#` inside a regex or `##` of an
  // AdBlock cosmetic rule has no blank before it.
  for (size_t i = 1; i < line.size(); ++i)
    if (line[i] == '#' && blank(line[i - 1])) {
      line = trim(line.substr(0, i));
      break;
    }
  if (line.starts_with("@@")) {
    line.remove_prefix(2);
    if (line.starts_with('|')) return Kind::kAdblock;
  }
  if (line.starts_with('|')) return Kind::kAdblock;
  if (line.starts_with('/')) return Kind::kPattern;
  std::array<std::string_view, 5> f;
  const size_t n = fields(line, f);
  if (n == 0) return Kind::kOther;
  if (n >= 2 && is_address(f[0])) return Kind::kHosts;
  for (size_t i = 1; i < n; ++i) {
    if (iequal(f[i], "SOA") || iequal(f[i], "CNAME")) {
      strong = true;
      return Kind::kZone;
    }
  }
  // A record continuing the owner above (`  NS ns.example.`) or `name [ttl] IN type data`.
  // A bare type after the owner is not enough: "not a name" has `a` there.
  if ((blank(raw.empty() ? 'x' : raw.front()) && is_rr_type(f[0])) ||
      (n >= 3 && (iequal(f[1], "IN") || iequal(f[2], "IN"))))
    return Kind::kZone;
  if (n == 1) {
    if (f[0].find('^') != std::string_view::npos || f[0].find("##") != std::string_view::npos ||
        f[0].find("#@#") != std::string_view::npos)
      return Kind::kAdblock;
    return is_wildcard(f[0]) ? Kind::kPattern : Kind::kName;
  }
  return Kind::kOther;
}

std::string_view extension_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  return path.substr(dot);
}

}  // namespace

bool format_from_extension(std::string_view path, Format& out) {
  const std::string_view ext = extension_of(path);
  if (ext == ".rpz" || ext == ".zone")
    out = Format::kRpz;
  else if (ext == ".hosts")
    out = Format::kHosts;
  else if (ext == ".adblock")
    out = Format::kAdblock;
  else if (ext == ".patterns")
    out = Format::kPatterns;
  else
    return false;
  return true;
}

FormatChoice infer_format(std::string_view text, std::string_view path) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::array<size_t, 6> count{};
  size_t total = 0;
  size_t line_no = 0;
  size_t strong_line = 0;
  std::string strong_text;
  while (!text.empty() && total < kSniffLines) {
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    const std::string_view t = trim(raw);
    if (t.empty()) continue;
    if (istarts(t, "[adblock") || istarts(t, "[ublock"))
      return {Format::kAdblock, FormatBasis::kContent,
              fmt::format("`{}` header at line {}", util::escape_for_log(t, 40), line_no)};
    if (t.starts_with('#') || t.starts_with('!') || t.starts_with(';')) continue;
    bool strong = false;
    const Kind k = classify(raw, strong);
    if (strong && strong_line == 0) {
      strong_line = line_no;
      std::array<std::string_view, 5> f;
      const size_t n = fields(t, f);
      strong_text = f[0];  // $ORIGIN, $TTL, $INCLUDE
      for (size_t i = 1; i < n; ++i)
        if (iequal(f[i], "SOA") || iequal(f[i], "CNAME")) {
          strong_text = f[i];
          break;
        }
      for (auto& c : strong_text)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    }
    ++count[static_cast<size_t>(k)];
    ++total;
  }
  auto n = [&](Kind k) { return count[static_cast<size_t>(k)]; };
  auto of = [&](size_t c, const char* what) {
    return fmt::format("{} of {} sampled lines are {}", c, total, what);
  };
  if (strong_line != 0)
    return {Format::kRpz, FormatBasis::kContent,
            fmt::format("zone file: `{}` at line {}", strong_text, strong_line)};
  Format by_ext{};
  const bool has_ext = format_from_extension(path, by_ext);
  const std::string ext(extension_of(path));
  const size_t half = total / 2;
  if (total > 0) {
    if (n(Kind::kZone) > half)
      return {Format::kRpz, FormatBasis::kContent, of(n(Kind::kZone), "zone records")};
    if (n(Kind::kHosts) > half)
      return {Format::kHosts, FormatBasis::kContent, of(n(Kind::kHosts), "`address name`")};
    if (n(Kind::kAdblock) > half)
      return {Format::kAdblock, FormatBasis::kContent, of(n(Kind::kAdblock), "`||name^` rules")};
    if (n(Kind::kPattern) > 0 && n(Kind::kPattern) + n(Kind::kName) > half)
      return {Format::kPatterns, FormatBasis::kContent,
              of(n(Kind::kPattern), "regex or wildcard rules") + ", the rest plain names"};
    if (n(Kind::kName) > half) {
      // Both the domains and the patterns reader take plain names.
      if (has_ext && by_ext == Format::kPatterns)
        return {Format::kPatterns, FormatBasis::kExtension,
                fmt::format("extension {} ({}, which fit domains and patterns alike)", ext,
                            of(n(Kind::kName), "plain names"))};
      return {Format::kDomains, FormatBasis::kContent, of(n(Kind::kName), "plain names")};
    }
  }
  const std::string sample = total == 0 ? "no entry line to sniff"
                                        : fmt::format("no kind of line is a majority of {}", total);
  if (has_ext)
    return {by_ext, FormatBasis::kExtension, fmt::format("extension {} ({})", ext, sample)};
  return {Format::kDomains, FormatBasis::kDefault, sample};
}

const char* to_string(FormatBasis b) {
  switch (b) {
    case FormatBasis::kConfigured:
      return "configured";
    case FormatBasis::kContent:
      return "content";
    case FormatBasis::kExtension:
      return "extension";
    case FormatBasis::kDefault:
      return "default";
  }
  return "?";
}

std::string format_label(Format f, FormatBasis b) {
  switch (b) {
    case FormatBasis::kConfigured:
      return to_string(f);
    case FormatBasis::kDefault:
      return fmt::format("{} (default)", to_string(f));
    case FormatBasis::kContent:
    case FormatBasis::kExtension:
      break;
  }
  return fmt::format("{} (inferred from {})", to_string(f), to_string(b));
}

std::string describe(const FormatChoice& c) {
  std::string label = format_label(c.format, c.basis);
  if (c.why.empty() || c.basis == FormatBasis::kConfigured) return label;
  if (label.back() == ')') {
    label.pop_back();
    return label + ": " + c.why + ")";
  }
  return label + " (" + c.why + ")";
}

}  // namespace sinkhole::blocklist
