// SPDX-License-Identifier: MIT
#include "resolver/feeds/http_validators.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace sinkhole::feeds {

namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool header_safe(std::string_view v) {
  return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void take(std::string_view value, std::string& out) {
  value = trim(value);
  if (value.size() > kMaxValidatorBytes || !header_safe(value)) {
    out.clear();
    return;
  }
  out.assign(value);
}

}  // namespace

void take_header_line(std::string_view line, HttpValidators& v) {
  if (iequals_prefix(line, "HTTP/")) {
    v.etag.clear();
    v.last_modified.clear();
  } else if (iequals_prefix(line, "etag:")) {
    take(line.substr(5), v.etag);
  } else if (iequals_prefix(line, "last-modified:")) {
    take(line.substr(14), v.last_modified);
  }
}

std::vector<std::string> conditional_headers(const HttpValidators& v) {
  std::vector<std::string> out;
  if (!v.etag.empty() && header_safe(v.etag)) out.push_back("If-None-Match: " + v.etag);
  if (!v.last_modified.empty() && header_safe(v.last_modified))
    out.push_back("If-Modified-Since: " + v.last_modified);
  return out;
}

std::string version_label(const HttpValidators& v) {
  if (!v.etag.empty()) return "etag " + v.etag;
  if (!v.last_modified.empty()) return "last-modified " + v.last_modified;
  return "hash " + v.hash;
}

std::string content_hash(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", h);
}

uint64_t retry_delay_ms(uint32_t refresh_seconds, uint64_t failures) {
  const uint64_t refresh = uint64_t{refresh_seconds} * 1000;
  uint64_t delay = std::min<uint64_t>(refresh, 60'000);
  for (uint64_t i = 1; i < failures && delay < refresh; ++i) delay *= 2;
  return std::max<uint64_t>(std::min(delay, refresh), 1000);
}

}  // namespace sinkhole::feeds
