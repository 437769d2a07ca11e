// SPDX-License-Identifier: MIT
#include "resolver/config/resolv_conf.h"

#include <sstream>

#include "util/read_file.h"

namespace sinkhole::config {

std::vector<SocketAddress> parse_resolv_conf(std::string_view text) {
  std::vector<SocketAddress> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    // resolv.conf addresses never carry a port; brackets keep IPv6 unambiguous.
    const std::string bracketed = value.find(':') != std::string::npos ? "[" + value + "]" : value;
    if (auto a = SocketAddress::parse(bracketed, 53)) out.push_back(*a);
  }
  return out;
}

std::vector<SocketAddress> read_resolv_conf(const std::string& path) {
  const auto text = util::read_file(path, nullptr);
  return text ? parse_resolv_conf(*text) : std::vector<SocketAddress>{};
}

}  // namespace sinkhole::config
