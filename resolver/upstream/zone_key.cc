// SPDX-License-Identifier: MIT
#include "resolver/upstream/zone_key.h"

#include <algorithm>
#include <iterator>
#include <string_view>

namespace sinkhole::upstream {

namespace {

// Second-level labels under which ccTLD registries sell names (com.vn, net.vn, edu.vn,
// gov.vn, co.uk, ac.uk, com.au, co.jp, or.jp, ...). Sorted for binary search.
constexpr std::string_view kSecondLevels[] = {
    "ac",     "biz", "co",   "com", "edu", "gen", "go",  "gob",  "gov",
    "health", "id",  "info", "int", "io",  "ltd", "mil", "name", "ne",
    "net",    "nic", "nom",  "or",  "org", "plc", "pro", "sch",  "web",
};

bool is_second_level(std::string_view label) {
  return std::binary_search(std::begin(kSecondLevels), std::end(kSecondLevels), label);
}

}  // namespace

size_t zone_offset(const uint8_t* name, size_t len) noexcept {
  // Offsets of the last three labels seen (labels[2] is the last one, the TLD).
  size_t labels[3] = {0, 0, 0};
  size_t count = 0;
  for (size_t pos = 0; pos < len && name[pos] != 0; pos += 1 + name[pos]) {
    labels[0] = labels[1];
    labels[1] = labels[2];
    labels[2] = pos;
    ++count;
  }
  if (count <= 2) return 0;
  const auto label = [&](size_t at) {
    return std::string_view(reinterpret_cast<const char*>(name + at + 1), name[at]);
  };
  const bool cc_tld = name[labels[2]] == 2;
  if (cc_tld && is_second_level(label(labels[1]))) return labels[0];
  return labels[1];
}

}  // namespace sinkhole::upstream
