// SPDX-License-Identifier: MIT
#include "blocklist/formats/adblock.h"

#include <array>
#include <string>

#include "blocklist/formats/line_splitter.h"
#include "blocklist/formats/reader_output.h"

namespace sinkhole::blocklist {
namespace {

bool is_cosmetic(std::string_view rule) {
  static constexpr std::array<std::string_view, 10> kMarkers = {
      "##", "#@#", "#?#", "#@?#", "#$#", "#@$#", "#%#", "#@%#", "$$", "$@$"};
  for (std::string_view m : kMarkers) {
    if (rule.find(m) != std::string_view::npos) return true;
  }
  return false;
}

bool starts_with_address(std::string_view rule) {
  std::string_view first = next_field(rule);
  if (rule.empty()) return false;  // a single field is no hosts line
  for (char c : first) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '.' || c == ':';
    if (!ok) return false;
  }
  return first.find_first_of(".:") != std::string_view::npos;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c | 0x20);
  }
  return out;
}

// Returns the skip reason for the first option a DNS filter cannot honour, or "".
std::string check_options(std::string_view options) {
  while (!options.empty()) {
    size_t comma = options.find(',');
    std::string_view opt = trim(options.substr(0, comma));
    options = comma == std::string_view::npos ? std::string_view{} : options.substr(comma + 1);
    if (opt.empty()) continue;
    std::string key = lower_ascii(opt.substr(0, opt.find('=')));
    if (key == "important" || key == "all" || key == "document" || key == "doc") continue;
    return "unsupported option $" + key;
  }
  return {};
}

// True when the rule's options include $important (AdGuard: it outranks exceptions).
bool has_important(std::string_view rule) {
  const size_t dollar = rule.find('$');
  if (dollar == std::string_view::npos) return false;
  std::string_view options = rule.substr(dollar + 1);
  while (!options.empty()) {
    const size_t comma = options.find(',');
    if (lower_ascii(trim(options.substr(0, comma))) == "important") return true;
    if (comma == std::string_view::npos) break;
    options.remove_prefix(comma + 1);
  }
  return false;
}

// Splits `||name^...` into the name and what follows it; returns the skip reason, or "" when
// the rule is a whole-domain rule.
std::string parse_domain_rule(std::string_view body, std::string_view& name) {
  size_t end = body.find_first_of("^/$*|:?");
  name = body.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view{} : body.substr(end);
  if (rest.empty()) return {};
  switch (rest.front()) {
    case '^':
    case '|':
      rest.remove_prefix(1);
      if (!rest.empty() && rest.front() == '|') rest.remove_prefix(1);
      if (rest.empty()) return {};
      if (rest.front() == '$') return check_options(rest.substr(1));
      return "path";
    case '$':
      return check_options(rest.substr(1));
    case ':':
      return "port";
    case '*':
      return "wildcard rule";
    default:
      return "path";  // '/' or '?'
  }
}

}  // namespace

void read_adblock(std::string_view text, ParsedList& out) {
  LineSplitter lines(text);
  std::string_view line;
  while (lines.next(line)) {
    ++out.stats.lines;
    std::string_view rule = trim(line);
    if (rule.empty() || rule.front() == '!') continue;
    if (rule.front() == '[' && rule.back() == ']') continue;  // [Adblock Plus 2.0]
    if (is_cosmetic(rule)) {
      count_skip(out, "cosmetic");
      continue;
    }
    if (rule.front() == '#') continue;  // hosts-style comment, allowed by AdGuard

    RuleKind kind = RuleKind::kBlock;
    if (rule.starts_with("@@")) {
      kind = RuleKind::kException;
      rule.remove_prefix(2);
      // A bare "@@" leaves nothing to look at (front() below would read past the line).
      if (rule.empty()) {
        add_reject(out, lines.line_number(), "empty exception rule", line);
        continue;
      }
    }
    if (rule.starts_with("||")) {
      std::string_view name;
      std::string reason = parse_domain_rule(rule.substr(2), name);
      if (!reason.empty()) {
        count_skip(out, reason);
      } else if (name.empty()) {
        add_reject(out, lines.line_number(), "empty name", line);
      } else {
        DomainEntry* e = add_domain(out, name, lines.line_number(), Scope::kSubtree, kind);
        if (e && kind == RuleKind::kBlock && has_important(rule)) e->important = true;
      }
    } else if (rule.size() >= 2 && rule.front() == '/' &&
               (rule.back() == '/' || rule.find("/$") != std::string_view::npos)) {
      count_skip(out, "regex rule");
    } else if (rule.front() == '|') {
      count_skip(out, "url rule");
    } else if (starts_with_address(rule)) {
      count_skip(out, "hosts-style rule");
    } else {
      count_skip(out, "substring rule");
    }
  }
}

}  // namespace sinkhole::blocklist
