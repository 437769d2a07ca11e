// SPDX-License-Identifier: MIT
#include "policy/public_suffixes.h"

#include <set>

#include "blocklist/normalize.h"
#include "util/read_file.h"

namespace sinkhole::policy {

PublicSuffixes PublicSuffixes::parse(std::string_view text) {
  PublicSuffixes out;
  std::set<std::string> seen;
  bool icann = true;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.starts_with("//")) {
      if (line.find("===BEGIN PRIVATE DOMAINS===") != std::string_view::npos) icann = false;
      continue;
    }
    // A rule ends at the first blank (the format's own definition).
    const size_t end = line.find_first_of(" \t\r");
    if (end != std::string_view::npos) line = line.substr(0, end);
    if (line.empty() || line.starts_with('!')) continue;
    if (line.starts_with("*.")) line.remove_prefix(2);
    const blocklist::Normalized n = blocklist::normalize_name(line);
    if (!n.ok || !seen.insert(n.name).second) continue;
    out.suffixes_.push_back({n.name, icann});
  }
  return out;
}

const PublicSuffixes& PublicSuffixes::system() {
  static const PublicSuffixes loaded = [] {
    std::string error;
    const auto text = util::read_file(kSystemPath, &error);
    if (!text) {
      PublicSuffixes none;
      none.error_ = std::string("cannot read ") + kSystemPath + ": " + error +
                    " (install Debian's publicsuffix package)";
      return none;
    }
    return parse(*text);
  }();
  return loaded;
}

}  // namespace sinkhole::policy
