// SPDX-License-Identifier: MIT
// The legal basis of a list (`lists.<name>.basis: { authority, reference, date, url }`):
// which authority ordered the blocking and by which decision — e.g. the regulator and its
// decision number. It is what the operator must be able to show for every block: EDE texts
// ({authority}, {reference}), `sinkholectl explain`, `/explain` (the warning page), the
// blocked-query log and `sinkholectl lists` carry it. Read on the load path (the snapshot
// builder); immutable in the snapshot afterwards, read by workers without locks.
#pragma once

#include <string>
#include <string_view>

namespace YAML {
class Node;
}

namespace sinkhole::config {
class YamlReader;
}

namespace sinkhole::policy {

struct LegalBasis {
  std::string authority;  // who ordered it ("MIC", "ADM")
  std::string reference;  // the decision ("Decision 1234/QD-BTTTT")
  std::string date;       // of the decision, YYYY-MM-DD
  std::string url;        // where it is published, http:// or https://
  bool empty() const {
    return authority.empty() && reference.empty() && date.empty() && url.empty();
  }
};

// Longest authority or reference accepted: they go into EDE texts and log lines.
inline constexpr size_t kMaxBasisText = 255;

// Reads `basis:` (a mapping of the four keys, each optional, at least one given) into
// `out`. Errors at the offending node, as `where.basis.KEY: ...`: an unknown key, a
// non-scalar, an empty or too long text or one holding control bytes, a date that is not
// a real YYYY-MM-DD day, a url that is not http(s)://host...
void read_legal_basis(config::YamlReader& r, const YAML::Node& n, const std::string& where,
                      LegalBasis& out);

// A real calendar day written YYYY-MM-DD (ISO 8601 calendar date, extended format).
bool valid_iso_date(std::string_view s);
// http:// or https:// (any case), then a host, no whitespace or control bytes.
bool valid_basis_url(std::string_view s);

}  // namespace sinkhole::policy
