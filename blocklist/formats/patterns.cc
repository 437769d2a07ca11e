// SPDX-License-Identifier: MIT
#include "blocklist/formats/patterns.h"

#include "blocklist/formats/line_splitter.h"
#include "blocklist/formats/reader_output.h"
#include "blocklist/formats/wildcard.h"

namespace sinkhole::blocklist {
namespace {

// The regex part of a `/.../` line: up to the closing slash, before an optional trailing
// comment (blanks, then `#`). `#` alone is not a comment start because a regex may hold it.
bool split_regex(std::string_view rule, std::string_view& regex) {
  for (size_t hash = rule.find('#'); hash != std::string_view::npos;
       hash = rule.find('#', hash + 1)) {
    if (hash == 0 || !is_blank(rule[hash - 1])) continue;
    std::string_view before = trim(rule.substr(0, hash));
    if (before.size() >= 2 && before.back() == '/') {
      regex = before;
      return true;
    }
  }
  if (rule.size() >= 2 && rule.back() == '/') {
    regex = rule;
    return true;
  }
  return false;
}

void add_pattern(ParsedList& out, std::string expression, std::string_view source, RuleKind kind,
                 uint32_t line) {
  PatternEntry& p = out.patterns.emplace_back();
  p.expression = std::move(expression);
  p.source = std::string(source);
  p.kind = kind;
  p.line = line;
}

void read_regex_rule(ParsedList& out, std::string_view rule, RuleKind kind, uint32_t line,
                     std::string_view raw_line) {
  std::string_view regex;
  if (!split_regex(rule, regex)) {
    add_reject(out, line, "regex without a closing '/'", raw_line);
    return;
  }
  std::string_view inner = regex.substr(1, regex.size() - 2);
  if (inner.empty()) {
    add_reject(out, line, "empty regex", raw_line);
  } else if (inner.find('\0') != std::string_view::npos) {
    add_reject(out, line, "NUL byte in regex", raw_line);  // Hyperscan takes C strings
  } else {
    add_pattern(out, std::string(inner), regex, kind, line);
  }
}

void read_name_rule(ParsedList& out, std::string_view rule, RuleKind kind, uint32_t line,
                    std::string_view raw_line) {
  std::string_view rest = trim(strip_hash_comment(rule));
  if (rest.empty()) {
    add_reject(out, line, "empty rule", raw_line);
    return;
  }
  std::string_view text = next_field(rest);
  if (!trim(rest).empty()) {
    add_reject(out, line, "more than one field on the line", raw_line);
    return;
  }
  size_t star = text.find('*');
  if (star == std::string_view::npos) {
    add_domain(out, text, line, Scope::kSubtree, kind);
  } else if (text.starts_with("*.") && text.find('*', 1) == std::string_view::npos) {
    add_domain(out, text.substr(2), line, Scope::kSubdomains, kind);
  } else {
    WildcardRegex w = wildcard_to_regex(text);
    if (w.ok) {
      add_pattern(out, std::move(w.expression), text, kind, line);
    } else {
      add_reject(out, line, w.reason, raw_line);
    }
  }
}

}  // namespace

void read_patterns(std::string_view text, ParsedList& out) {
  LineSplitter lines(text);
  std::string_view line;
  while (lines.next(line)) {
    ++out.stats.lines;
    std::string_view rule = trim(line);
    if (rule.empty() || rule.front() == '#') continue;
    RuleKind kind = RuleKind::kBlock;
    if (rule.starts_with("@@")) {
      kind = RuleKind::kException;
      rule.remove_prefix(2);
    }
    if (!rule.empty() && rule.front() == '/') {
      read_regex_rule(out, rule, kind, lines.line_number(), line);
    } else {
      read_name_rule(out, rule, kind, lines.line_number(), line);
    }
  }
}

}  // namespace sinkhole::blocklist
