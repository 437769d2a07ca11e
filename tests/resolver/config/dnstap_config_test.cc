// SPDX-License-Identifier: MIT
// The `dnstap:` section: absent = off, every key, the defaults (host name, "sinkholed
// <version>"), and each error — both outputs, neither, wrong types, unknown keys — at its
// file:line:column.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "resolver/config/config.h"
#include "temp_file.h"
#include "sinkhole/version.h"

namespace {

using sinkhole::config::DnstapConfig;
using sinkhole::config::parse_config;

std::string joined(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += e + "\n";
  return s;
}

std::string host_name() {
  char buf[256] = {};
  REQUIRE(gethostname(buf, sizeof buf - 1) == 0);
  return buf;
}

}  // namespace

TEST_CASE("dnstap is off without its section") {
  const auto r = parse_config("upstreams: [192.0.2.1]\n", "cfg.yaml", "/nonexistent");
  INFO(joined(r.errors));
  REQUIRE(r.config.has_value());
  CHECK_FALSE(r.config->dnstap.has_value());
}

TEST_CASE("dnstap reads every key") {
  const char* yaml =
      "upstreams: [192.0.2.1]\n"
      "dnstap:\n"
      "  socket: /run/sinkholed/dnstap.sock\n"
      "  identity: Resolver-7.example\n"
      "  version: \"sinkholed test build\"\n"
      "  client_queries: false\n"
      "  client_responses: true\n";
  const auto r = parse_config(yaml, "cfg.yaml", "/nonexistent");
  INFO(joined(r.errors));
  REQUIRE(r.config.has_value());
  REQUIRE(r.config->dnstap.has_value());
  const DnstapConfig& d = *r.config->dnstap;
  CHECK(d.output == DnstapConfig::Output::kSocket);
  CHECK(d.path == "/run/sinkholed/dnstap.sock");
  CHECK(d.identity == "Resolver-7.example");  // case kept
  CHECK(d.version == "sinkholed test build");
  CHECK_FALSE(d.client_queries);
  CHECK(d.client_responses);
}

TEST_CASE("dnstap to a file, with the defaults") {
  const auto r = parse_config("upstreams: [192.0.2.1]\ndnstap: {file: /var/log/tap.fstrm}\n",
                              "cfg.yaml", "/nonexistent");
  INFO(joined(r.errors));
  REQUIRE(r.config.has_value());
  REQUIRE(r.config->dnstap.has_value());
  const DnstapConfig& d = *r.config->dnstap;
  CHECK(d.output == DnstapConfig::Output::kFile);
  CHECK(d.path == "/var/log/tap.fstrm");
  CHECK(d.identity == host_name());
  CHECK(d.version == std::string("sinkholed ") + sinkhole::kVersion);
  CHECK(d.client_queries);
  CHECK(d.client_responses);
}

TEST_CASE("dnstap errors name their file:line:column") {
  struct Case {
    std::string name;
    std::string yaml;
    std::string want;  // the whole first diagnostic
  } cases[] = {
      {"both socket and file", "dnstap:\n  socket: /tmp/a.sock\n  file: /tmp/b.fstrm\n",
       "cfg.yaml:3:9: dnstap: give socket or file, not both"},
      {"neither socket nor file", "dnstap:\n  identity: x\n",
       "cfg.yaml:2:3: dnstap needs an output: socket: PATH (a collector's Frame Streams "
       "socket) or file: PATH"},
      {"empty mapping", "dnstap: {}\n",
       "cfg.yaml:1:9: dnstap needs an output: socket: PATH (a collector's Frame Streams "
       "socket) or file: PATH"},
      {"not a mapping", "dnstap: /tmp/a.sock\n", "cfg.yaml:1:9: dnstap must be a mapping"},
      {"boolean not a boolean", "dnstap:\n  socket: /tmp/a.sock\n  client_queries: maybe\n",
       "cfg.yaml:3:19: dnstap.client_queries must be true or false, not 'maybe'"},
      {"responses not a boolean", "dnstap:\n  file: /tmp/a\n  client_responses: [true]\n",
       "cfg.yaml:3:21: dnstap.client_responses must be a scalar"},
      {"socket is a list", "dnstap:\n  socket: [/tmp/a.sock]\n",
       "cfg.yaml:2:11: dnstap.socket must be a scalar"},
      {"identity is a mapping", "dnstap:\n  socket: /tmp/a.sock\n  identity: {a: b}\n",
       "cfg.yaml:3:13: dnstap.identity must be a scalar"},
      {"empty path", "dnstap:\n  file: \"\"\n", "cfg.yaml:2:9: dnstap.file must not be empty"},
      {"socket path too long", "dnstap:\n  socket: /" + std::string(120, 's') + "\n",
       "cfg.yaml:2:11: dnstap.socket is 121 bytes long; a Unix socket path has at most 107"},
      {"unknown key", "dnstap:\n  socket: /tmp/a.sock\n  sockett: /tmp/b.sock\n",
       "cfg.yaml:3:3: unknown key 'sockett' in dnstap (known: client_queries, "
       "client_responses, file, identity, socket, version)"},
  };
  sinkhole::test::TempFile resolv("nameserver 192.0.2.53\n");
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = parse_config(c.yaml, "cfg.yaml", resolv.path());
    CHECK_FALSE(r.config.has_value());
    REQUIRE_FALSE(r.errors.empty());
    CHECK(r.errors[0] == c.want);
  }
}
