// SPDX-License-Identifier: MIT
#include "blocklist/entry.h"

namespace sinkhole::blocklist {

const char* to_string(Format f) {
  switch (f) {
    case Format::kDomains:
      return "domains";
    case Format::kHosts:
      return "hosts";
    case Format::kAdblock:
      return "adblock";
    case Format::kRpz:
      return "rpz";
    case Format::kPatterns:
      return "patterns";
  }
  return "?";
}

bool parse_format(const std::string& text, Format& out) {
  for (Format f :
       {Format::kDomains, Format::kHosts, Format::kAdblock, Format::kRpz, Format::kPatterns}) {
    if (text == to_string(f)) {
      out = f;
      return true;
    }
  }
  return false;
}

}  // namespace sinkhole::blocklist
