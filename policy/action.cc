// SPDX-License-Identifier: MIT
#include "policy/action.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace sinkhole::policy {

const char* to_string(ActionKind k) {
  switch (k) {
    case ActionKind::kSinkhole:
      return "sinkhole";
    case ActionKind::kNxDomain:
      return "nxdomain";
    case ActionKind::kNoData:
      return "nodata";
    case ActionKind::kRefused:
      return "refused";
    case ActionKind::kDrop:
      return "drop";
    case ActionKind::kCname:
      return "cname";
    case ActionKind::kPassthru:
      return "passthru";
    case ActionKind::kTcpOnly:
      return "tcp-only";
    case ActionKind::kLocalData:
      return "local-data";
  }
  return "?";
}

bool parse_ede_template(const std::string& text, EdeTemplate& out, std::string* error) {
  out.pieces.clear();
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '{') {
      literal.push_back(text[i++]);
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string::npos) {
      if (error) *error = "unclosed '{' in ede_text";
      return false;
    }
    const std::string word = text.substr(i + 1, close - i - 1);
    EdeTemplate::Part part;
    if (word == "list")
      part = EdeTemplate::Part::kList;
    else if (word == "category")
      part = EdeTemplate::Part::kCategory;
    else if (word == "line")
      part = EdeTemplate::Part::kLine;
    else if (word == "file")
      part = EdeTemplate::Part::kFile;
    else if (word == "authority")
      part = EdeTemplate::Part::kAuthority;
    else if (word == "reference")
      part = EdeTemplate::Part::kReference;
    else {
      if (error)
        *error = "unknown placeholder {" + word +
                 "} in ede_text (use {list}, {category}, {line}, {file}, {authority}, "
                 "{reference})";
      return false;
    }
    if (!literal.empty()) out.pieces.push_back({EdeTemplate::Part::kText, std::move(literal)});
    literal.clear();
    out.pieces.push_back({part, {}});
    i = close + 1;
  }
  if (!literal.empty()) out.pieces.push_back({EdeTemplate::Part::kText, std::move(literal)});
  return true;
}

size_t render_ede(const EdeTemplate& t, const EdeFields& f, char* buf, size_t cap) noexcept {
  size_t n = 0;
  auto put = [&](std::string_view v) {
    const size_t k = std::min(v.size(), cap - n);
    if (k == 0) return;  // an empty view may have a null data(): memcpy forbids it
    std::memcpy(buf + n, v.data(), k);
    n += k;
  };
  for (const auto& piece : t.pieces) {
    switch (piece.part) {
      case EdeTemplate::Part::kText:
        put(piece.text);
        break;
      case EdeTemplate::Part::kList:
        put(f.list);
        break;
      case EdeTemplate::Part::kCategory:
        put(f.category);
        break;
      case EdeTemplate::Part::kFile:
        put(f.file);
        break;
      case EdeTemplate::Part::kAuthority:
        put(f.authority);
        break;
      case EdeTemplate::Part::kReference:
        put(f.reference);
        break;
      case EdeTemplate::Part::kLine: {
        char num[16];
        auto r = std::to_chars(num, num + sizeof num, f.line);
        put({num, static_cast<size_t>(r.ptr - num)});
        break;
      }
    }
  }
  return n;
}

}  // namespace sinkhole::policy
