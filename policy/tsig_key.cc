// SPDX-License-Identifier: MIT
#include "policy/tsig_key.h"

#include <cctype>
#include <vector>

namespace sinkhole::policy {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.back() == ';') s = trim(s.substr(0, s.size() - 1));
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    s = s.substr(1, s.size() - 2);
  return s;
}

// The value after `key` at the start of `line` ("secret: X", "secret \"X\";"), or nothing.
bool value_of(std::string_view line, std::string_view key, std::string_view& value) {
  line = trim(line);
  if (line.starts_with("- ")) line = trim(line.substr(2));  // a YAML sequence item
  if (!line.starts_with(key)) return false;
  std::string_view rest = line.substr(key.size());
  if (rest.empty() ||
      !(rest.front() == ':' || std::isspace(static_cast<unsigned char>(rest.front()))))
    return false;
  if (rest.front() == ':') rest.remove_prefix(1);
  value = unquote(rest);
  return true;
}

}  // namespace

bool valid_base64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  size_t pad = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;  // data after padding
    if (!std::isalnum(c) && c != '+' && c != '/') return false;
  }
  return pad <= 2;
}

bool parse_tsig_key_text(std::string_view text, TsigFileKey& out, std::string* error) {
  out = {};
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos <= text.size();) {
    const size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? text.size() : nl;
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  std::string_view bare;
  size_t bare_lines = 0;
  for (std::string_view line : lines) {
    std::string_view t = trim(line), v;
    if (t.empty()) continue;
    if (t.starts_with("key ") || t.starts_with("key\t")) {  // key "name" {
      std::string_view n = trim(t.substr(4));
      if (n.ends_with("{")) n = trim(n.substr(0, n.size() - 1));
      out.name = std::string(unquote(n));
      continue;
    }
    if (value_of(t, "secret", v)) {
      out.secret = std::string(v);
    } else if (value_of(t, "algorithm", v)) {
      out.algorithm = std::string(v);
    } else if (value_of(t, "id", v)) {
      out.name = std::string(v);
    } else if (t.front() != '#' && t.front() != '}' && t != "key:") {
      bare = t;
      ++bare_lines;
    }
  }
  if (out.secret.empty() && bare_lines == 1) out.secret = std::string(bare);
  if (out.secret.empty()) {
    if (error) *error = "no TSIG secret in it (expected base64, tsig-keygen or keymgr -t output)";
    return false;
  }
  if (!valid_base64(out.secret)) {
    if (error) *error = "the TSIG secret is not valid base64";
    return false;
  }
  if (out.name.ends_with('.')) out.name.pop_back();
  return true;
}

}  // namespace sinkhole::policy
