// SPDX-License-Identifier: MIT
#include "blocklist/formats/domains.h"

#include "blocklist/formats/line_splitter.h"
#include "blocklist/formats/reader_output.h"

namespace sinkhole::blocklist {

void read_domains(std::string_view text, ParsedList& out) {
  LineSplitter lines(text);
  std::string_view line;
  while (lines.next(line)) {
    ++out.stats.lines;
    std::string_view rest = trim(strip_hash_comment(line));
    if (rest.empty()) continue;
    std::string_view name = next_field(rest);
    if (!trim(rest).empty()) {
      add_reject(out, lines.line_number(), "more than one field on the line", line);
      continue;
    }
    Scope scope = Scope::kSubtree;
    if (name.starts_with("*.")) {
      name.remove_prefix(2);
      scope = Scope::kSubdomains;
    }
    add_domain(out, name, lines.line_number(), scope);
  }
}

}  // namespace sinkhole::blocklist
