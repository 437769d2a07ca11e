// SPDX-License-Identifier: MIT
#include "policy/list_diff.h"

#include <algorithm>

#include "blocklist/list_reader.h"

namespace sinkhole::policy {

ListDiff diff_names(std::vector<std::string> serving, std::vector<std::string> staged,
                    size_t keep) {
  for (auto* v : {&serving, &staged}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  ListDiff d;
  auto a = serving.begin(), b = staged.begin();
  while (a != serving.end() || b != staged.end()) {
    if (b == staged.end() || (a != serving.end() && *a < *b)) {
      if (d.removed++ < keep) d.removed_names.push_back(*a);
      ++a;
    } else if (a == serving.end() || *b < *a) {
      if (d.added++ < keep) d.added_names.push_back(*b);
      ++b;
    } else {
      ++a;
      ++b;
    }
  }
  return d;
}

std::vector<std::string> block_names(const std::string& path, const blocklist::Format* format) {
  blocklist::FormatChoice chosen;
  blocklist::ParsedList parsed = blocklist::read_list_file(path, format, nullptr, &chosen);
  std::vector<std::string> out;
  out.reserve(parsed.domains.size());
  for (auto& e : parsed.domains)
    if (e.kind == blocklist::RuleKind::kBlock) out.push_back(std::move(e.name));
  return out;
}

}  // namespace sinkhole::policy
