// SPDX-License-Identifier: MIT
// The `dnstap:` section: where sinkholed sends its dnstap log (resolver/dnstap) and what it
// logs. An absent section means no dnstap at all.
//
//   dnstap:
//     socket: /run/sinkholed/dnstap.sock   # a collector's Frame Streams socket, or
//     # file: /var/log/sinkholed/dnstap.fstrm
//     identity: resolver-1                 # default: the host name
//     version: "sinkholed 0.1.0"           # default: "sinkholed <version>"
//     client_queries: true
//     client_responses: true
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace YAML {
class Node;
}

namespace sinkhole::config {

struct DnstapConfig {
  enum class Output : uint8_t { kSocket, kFile };
  Output output = Output::kSocket;
  std::string path;      // the collector's Unix socket, or the file
  std::string identity;  // in every message; default: the host name
  std::string version;   // in every message; default: "sinkholed <version>"
  bool client_queries = true;
  bool client_responses = true;
};

class YamlReader;

// Reads the section into `out` (set only when the section is valid); errors go to `r`.
// Used by parse_config.
void read_dnstap(YamlReader& r, const YAML::Node& n, std::optional<DnstapConfig>& out);

}  // namespace sinkhole::config
