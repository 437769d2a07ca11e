// SPDX-License-Identifier: MIT
// parse_config: every key, the defaults, durations, the resolv.conf fallback, and each error
// class with its exact `file:line:column:` prefix (1-based, as editors count); the document
// the file is parsed into once.
#include "resolver/config/config.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "resolver/config/yaml_reader.h"
#include "temp_file.h"

namespace {

using sinkhole::config::Millis;
using sinkhole::config::parse_config;

std::vector<std::string> printed(const std::vector<sinkhole::config::SocketAddress>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}

std::string joined(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += e + "\n";
  return s;
}

}  // namespace

TEST_CASE("parse_config reads every key") {
  const char* yaml =
      "server:\n"
      "  listen: [127.0.0.1:5353, \"[::1]:5353\", 0.0.0.0]\n"
      "  workers: 3\n"
      "  udp_payload: 1400\n"
      "  tcp_idle_timeout: 2.5s\n"
      "  tcp_max_connections: 64\n"
      "  identity: Resolver-1\n"
      "  version: sinkholed test\n"
      "upstreams:\n"
      "  - 192.0.2.1\n"
      "  - 192.0.2.2:5300\n"
      "  - \"[2001:db8::1]:53\"\n"
      "upstream:\n"
      "  timeout: 800ms\n"
      "  deadline: 1m\n"
      "  max_inflight: 1000\n"
      "  max_inflight_per_upstream: 300\n"
      "  zone_share: 25%\n"
      "  socket_reuse: 4\n"
      "log:\n"
      "  level: debug\n";
  // The resolv.conf must not be consulted when upstreams are given.
  const auto r = parse_config(yaml, "cfg.yaml", "/nonexistent/resolv.conf");
  INFO(joined(r.errors));
  REQUIRE(r.config.has_value());
  CHECK(r.errors.empty());
  const auto& c = *r.config;
  CHECK(c.path == "cfg.yaml");
  CHECK(printed(c.server.listen) ==
        std::vector<std::string>{"127.0.0.1:5353", "[::1]:5353", "0.0.0.0:53"});
  CHECK(c.server.workers == 3);
  CHECK(c.server.udp_payload == 1400);
  CHECK(c.server.tcp_idle_timeout == Millis{2500});
  CHECK(c.server.tcp_max_connections == 64);
  CHECK(c.server.identity == "Resolver-1");
  CHECK(c.server.version == "sinkholed test");
  CHECK(printed(c.upstream.servers) ==
        std::vector<std::string>{"192.0.2.1:53", "192.0.2.2:5300", "[2001:db8::1]:53"});
  CHECK_FALSE(c.upstream.from_resolv_conf);
  CHECK(c.upstream.timeout == Millis{800});
  CHECK(c.upstream.deadline == Millis{60000});
  CHECK(c.upstream.max_inflight == 1000);
  CHECK(c.upstream.max_inflight_per_upstream == 300);
  CHECK(c.upstream.zone_share_percent == 25);
  CHECK(c.upstream.zone_limit() == 250);
  CHECK(c.upstream.socket_reuse == 4);
  CHECK(c.log.level == "debug");
}

TEST_CASE("parse_config applies the defaults and falls back to resolv.conf") {
  sinkhole::test::TempFile resolv("# test\nnameserver 192.0.2.53\nnameserver fe80::53%lo\n");
  for (const char* yaml : {"", "# only a comment\n", "server:\n  workers: auto\n"}) {
    INFO(yaml);
    const auto r = parse_config(yaml, "cfg.yaml", resolv.path());
    INFO(joined(r.errors));
    REQUIRE(r.config.has_value());
    const auto& c = *r.config;
    CHECK(printed(c.server.listen) == std::vector<std::string>{"127.0.0.1:53", "[::1]:53"});
    CHECK(c.server.workers == 0);  // auto: one per core
    CHECK(c.server.udp_payload == 1232);
    CHECK(c.server.tcp_idle_timeout == Millis{10000});
    CHECK(c.server.tcp_max_connections == 1000);
    CHECK_FALSE(c.server.identity.has_value());
    CHECK_FALSE(c.server.version.has_value());
    CHECK(printed(c.upstream.servers) ==
          std::vector<std::string>{"192.0.2.53:53", "[fe80::53%lo]:53"});
    CHECK(c.upstream.from_resolv_conf);
    CHECK(c.upstream.timeout == Millis{1500});
    CHECK(c.upstream.deadline == Millis{2000});
    CHECK(c.upstream.max_inflight == 4096);
    CHECK(c.upstream.max_inflight_per_upstream == 2048);
    CHECK(c.upstream.zone_share_percent == 10);
    CHECK(c.upstream.zone_limit() == 409);
    CHECK(c.upstream.socket_reuse == 16);
    CHECK(c.log.level == "info");
  }
}

TEST_CASE("parse_config fails when neither upstreams nor resolv.conf name a server") {
  sinkhole::test::TempFile empty("# no nameserver here\nsearch example.\n");
  for (const std::string& path : {empty.path(), empty.path() + ".missing"}) {
    const auto r = parse_config("log:\n  level: warn\n", "cfg.yaml", path);
    CHECK_FALSE(r.config.has_value());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0] == "cfg.yaml: no upstreams configured and no nameserver in " + path);
  }
}

TEST_CASE("parse_duration reads ms, s and m, with fractions") {
  struct Case {
    std::string text;
    long long ms;
  } good[] = {{"1500ms", 1500}, {"2s", 2000}, {"1.5s", 1500}, {"1m", 60000},   {"0.25s", 250},
              {"1.5m", 90000},  {"10ms", 10}, {"0ms", 0},     {"1h", 3600000}, {"1d", 86400000}};
  for (const auto& c : good) {
    INFO(c.text);
    const auto d = sinkhole::config::parse_duration(c.text);
    REQUIRE(d.has_value());
    CHECK(d->count() == c.ms);
  }
  for (const char* text :
       {"1500", "", "s", "ms", "1.5.2s", "2 s", "-1s", "1w", "2S", "1sec", "s2"}) {
    INFO(text);
    CHECK_FALSE(sinkhole::config::parse_duration(text).has_value());
  }
}

TEST_CASE("parse_fraction reads 1% and 0.01 alike, from 0 to 1") {
  struct Case {
    const char* text;
    double value;
  } good[] = {{"1%", 0.01}, {"0.01", 0.01}, {"50%", 0.5}, {"0.5", 0.5},  {"0", 0},
              {"0%", 0},    {"100%", 1},    {"1", 1},     {".25", 0.25}, {"0.5%", 0.005}};
  for (const auto& c : good) {
    INFO(c.text);
    const auto v = sinkhole::config::parse_fraction(c.text);
    REQUIRE(v.has_value());
    CHECK(*v == doctest::Approx(c.value));
  }
  for (const char* text : {"", "%", "101%", "1.5", "-1%", "-0.1", "1 %", "ten", "5%%", "0x1"}) {
    INFO(text);
    CHECK_FALSE(sinkhole::config::parse_fraction(text).has_value());
  }
}

TEST_CASE("list_defaults is a known top-level key (the policy builder reads it)") {
  const auto r = sinkhole::config::parse_config(
      "upstreams: [127.0.0.1:53]\nlist_defaults:\n  max_shrink: 20%\n", "cfg.yaml");
  INFO(r.errors.size());
  CHECK(r.config.has_value());
}

TEST_CASE("parse_config reports each error at its file:line:column") {
  struct Case {
    std::string name;
    std::string yaml;
    std::string want;  // the whole first diagnostic, or its beginning if it ends in "..."
  } cases[] = {
      {"unknown top-level key", "server:\n  workers: 2\nservers:\n  workers: 1\n",
       "cfg.yaml:3:1: unknown key 'servers' in the top level (known: actions, cache, control, ..."},
      {"unknown key in server", "server:\n  listen: [127.0.0.1]\n  wrokers: 4\n",
       "cfg.yaml:3:3: unknown key 'wrokers' in server..."},
      {"unknown key in upstream", "upstream:\n  timeout: 1s\n  retries: 3\n",
       "cfg.yaml:3:3: unknown key 'retries' in upstream (known: deadline, max_inflight, "
       "max_inflight_per_upstream, socket_reuse, timeout, zone_share)"},
      {"max_inflight 0", "upstream:\n  max_inflight: 0\n",
       "cfg.yaml:2:17: upstream.max_inflight must be an integer from 1 to 1000000, not '0'"},
      {"max_inflight_per_upstream not a number", "upstream:\n  max_inflight_per_upstream: x\n",
       "cfg.yaml:2:30: upstream.max_inflight_per_upstream must be an integer from 1 to 1000000, "
       "not 'x'"},
      {"zone_share without %", "upstream:\n  zone_share: 10\n",
       "cfg.yaml:2:15: upstream.zone_share must be a percentage from 1% to 100%, not '10'"},
      {"zone_share 0%", "upstream:\n  zone_share: 0%\n",
       "cfg.yaml:2:15: upstream.zone_share must be a percentage from 1% to 100%, not '0%'"},
      {"zone_share 101%", "upstream:\n  zone_share: 101%\n",
       "cfg.yaml:2:15: upstream.zone_share must be a percentage..."},
      {"socket_reuse 0", "upstream:\n  socket_reuse: 0\n",
       "cfg.yaml:2:17: upstream.socket_reuse must be an integer from 1 to 256, not '0'"},
      {"socket_reuse 257", "upstream:\n  socket_reuse: 257\n",
       "cfg.yaml:2:17: upstream.socket_reuse..."},
      {"listen not a list", "server:\n  listen: 127.0.0.1:53\n",
       "cfg.yaml:2:11: server.listen must be a list of addresses"},
      {"server not a mapping", "server: 5\n", "cfg.yaml:1:9: server must be a mapping"},
      {"top level not a mapping", "- server\n", "cfg.yaml:1:1: the top level must be a mapping"},
      {"workers is a list", "server:\n  workers: [1, 2]\n",
       "cfg.yaml:2:12: server.workers (or 'auto') must be a scalar"},
      {"bad address", "upstreams:\n  - 192.0.2.1\n  - 300.1.2.3\n",
       "cfg.yaml:3:5: upstreams: '300.1.2.3' is not an address (use 1.2.3.4:53 or [::1]:53)"},
      {"bad port", "server:\n  listen:\n    - 127.0.0.1:99999\n",
       "cfg.yaml:3:7: server.listen: '127.0.0.1:99999' is not an address..."},
      {"empty upstreams", "upstreams: []\n",
       "cfg.yaml:1:12: upstreams must name at least one address"},
      {"workers 0", "server:\n  workers: 0\n",
       "cfg.yaml:2:12: server.workers (or 'auto') must be an integer from 1 to 256, not '0'"},
      {"workers lots", "server:\n  workers: lots\n",
       "cfg.yaml:2:12: server.workers (or 'auto') must be an integer from 1 to 256, not 'lots'"},
      {"workers 257", "server:\n  workers: 257\n", "cfg.yaml:2:12: server.workers..."},
      {"udp_payload 100", "server:\n  udp_payload: 100\n",
       "cfg.yaml:2:16: server.udp_payload must be an integer from 512 to 4096, not '100'"},
      {"udp_payload 4097", "server:\n  udp_payload: 4097\n",
       "cfg.yaml:2:16: server.udp_payload..."},
      {"duration without unit", "upstream:\n  timeout: 1500\n",
       "cfg.yaml:2:12: upstream.timeout must be a positive duration with a unit (e.g. 1500ms, "
       "2s), not '1500'"},
      {"zero duration", "server:\n  tcp_idle_timeout: 0s\n",
       "cfg.yaml:2:21: server.tcp_idle_timeout must be a positive duration..."},
      {"log.level invalid", "log:\n  level: verbose\n",
       "cfg.yaml:2:10: log.level 'verbose' is not one of trace, debug, info, warn, error, "
       "critical, off"},
      {"timeout > deadline", "upstream:\n  timeout: 3s\n  deadline: 2s\n",
       "cfg.yaml:2:3: upstream.timeout must not exceed upstream.deadline"},
      {"timeout > default deadline", "log:\n  level: info\nupstream:\n  timeout: 2500ms\n",
       "cfg.yaml:4:3: upstream.timeout must not exceed upstream.deadline"},
  };
  sinkhole::test::TempFile resolv("nameserver 192.0.2.53\n");
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = parse_config(c.yaml, "cfg.yaml", resolv.path());
    CHECK_FALSE(r.config.has_value());
    REQUIRE(!r.errors.empty());
    if (c.want.size() > 3 && c.want.substr(c.want.size() - 3) == "...") {
      const std::string prefix = c.want.substr(0, c.want.size() - 3);
      CHECK(r.errors[0].substr(0, prefix.size()) == prefix);
    } else {
      CHECK(r.errors[0] == c.want);
    }
  }
}

TEST_CASE("parse_config reports YAML syntax errors with a 1-based position") {
  struct Case {
    std::string name;
    std::string yaml;
    std::string prefix;
  } cases[] = {
      {"unclosed flow sequence", "server:\n  listen: [127.0.0.1\n", "cfg.yaml:3:1: "},
      {"bad indentation", "server:\n  workers: 2\n listen: []\n", "cfg.yaml:3:2: "},
      {"map value in a plain scalar", "log:\n  level: info: x\n", "cfg.yaml:2:14: "},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = parse_config(c.yaml, "cfg.yaml", "/nonexistent");
    CHECK_FALSE(r.config.has_value());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].substr(0, c.prefix.size()) == c.prefix);
    CHECK(r.errors[0].size() > c.prefix.size());  // a message follows the position
  }
}

TEST_CASE("parse_config reports every error, not only the first") {
  const auto r = parse_config("server:\n  workers: 0\n  udp_payload: 1\nlog:\n  levle: x\n",
                              "multi.yaml", "/nonexistent");
  CHECK_FALSE(r.config.has_value());
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].rfind("multi.yaml:2:12: ", 0) == 0);
  CHECK(r.errors[1].rfind("multi.yaml:3:16: ", 0) == 0);
  CHECK(r.errors[2].rfind("multi.yaml:5:3: unknown key 'levle' in log", 0) == 0);
}

TEST_CASE("load_config reads a file and names it in diagnostics") {
  sinkhole::test::TempFile resolv("nameserver 192.0.2.53\n");
  sinkhole::test::TempFile good("upstreams: [192.0.2.9]\nserver:\n  workers: 2\n");
  const auto ok = sinkhole::config::load_config(good.path(), resolv.path());
  REQUIRE(ok.config.has_value());
  CHECK(ok.config->path == good.path());
  CHECK(ok.config->server.workers == 2);

  sinkhole::test::TempFile bad("server:\n  workers: many\n");
  const auto r = sinkhole::config::load_config(bad.path(), resolv.path());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].rfind(bad.path() + ":2:12: ", 0) == 0);

  const auto missing = sinkhole::config::load_config(bad.path() + ".missing", resolv.path());
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].rfind(bad.path() + ".missing: cannot read: ", 0) == 0);
}

// The file is parsed once: the Document keeps the tree with its positions, and
// parse_config reads it without the text (policy::build_snapshot reads the same tree).
TEST_CASE("load_document parses once; parse_config reads the tree with its positions") {
  sinkhole::test::TempFile resolv("nameserver 192.0.2.53\n");
  sinkhole::test::TempFile file("server:\n  workers: 3\npolicies: []\nlog:\n  levle: x\n");
  const auto doc = sinkhole::config::load_document(file.path());
  REQUIRE(doc.document.has_value());
  CHECK(doc.errors.empty());
  CHECK(doc.document->path == file.path());
  CHECK(doc.document->root["server"]["workers"].as<int>() == 3);
  const auto r = parse_config(*doc.document, resolv.path());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].rfind(file.path() + ":5:3: unknown key 'levle' in log", 0) == 0);
  // Reading the tree adds nothing to it (a second reader sees the same document).
  CHECK(doc.document->root.size() == 3);
  CHECK(parse_config(*doc.document, resolv.path()).errors == r.errors);

  // Syntax errors and unreadable files: the same messages as parse_config and load_config.
  const auto bad = sinkhole::config::parse_document("server:\n  listen: [127.0.0.1\n", "cfg.yaml");
  CHECK_FALSE(bad.document.has_value());
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors == parse_config("server:\n  listen: [127.0.0.1\n", "cfg.yaml").errors);
  CHECK(bad.errors[0].rfind("cfg.yaml:3:1: ", 0) == 0);
  const auto missing = sinkhole::config::load_document(file.path() + ".missing");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].rfind(file.path() + ".missing: cannot read: ", 0) == 0);
  // An empty file is a document too (every default applies).
  const auto empty = sinkhole::config::parse_document("", "empty.yaml");
  REQUIRE(empty.document.has_value());
  CHECK(empty.document->root.IsNull());
}

// The overflow is a double → long long conversion out of range (undefined behaviour); on
// x86-64 it yields INT64_MIN, a negative duration.
TEST_CASE("parse_duration rejects durations too large for milliseconds") {
  for (const std::string text :
       {"99999999999999999999s", "200000000000000m", "9223372036854775807ms"}) {
    INFO(text);
    const auto d = sinkhole::config::parse_duration(text);
    CHECK_MESSAGE(!d.has_value(), "parsed as " << (d ? d->count() : 0) << " ms");
  }
}

// A repeated key is a YAML error (YAML 1.2 §3.2.1.1: keys are unique); yaml-cpp keeps both and
// the loader reads the first, so the second block, and any bad value in it, is silently ignored.
TEST_CASE("parse_config rejects a repeated key instead of ignoring its value") {
  struct Case {
    std::string name;
    std::string yaml;
    std::string prefix;
  } cases[] = {
      {"repeated top-level section", "server:\n  workers: 1\nserver:\n  workers: 0\n",
       "cfg.yaml:3:1: "},
      {"repeated key in server", "server:\n  workers: 2\n  workers: 0\n", "cfg.yaml:3:3: "},
  };
  sinkhole::test::TempFile resolv("nameserver 192.0.2.53\n");
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = parse_config(c.yaml, "cfg.yaml", resolv.path());
    CHECK_MESSAGE(!r.config.has_value(),
                  "accepted with workers = " << (r.config ? r.config->server.workers : 0));
    CHECK_FALSE(r.errors.empty());
    if (!r.errors.empty()) CHECK(r.errors[0].substr(0, c.prefix.size()) == c.prefix);
  }
}

TEST_CASE("parse_config reads metrics, control socket mode and group, blocked-query log") {
  const char* yaml =
      "upstreams: [192.0.2.1]\n"
      "metrics:\n  listen: \"127.0.0.1:9200\"\n"
      "control:\n  socket: /tmp/x.sock\n  mode: \"0640\"\n  group: sinkholed\n"
      "log:\n  blocked_queries: true\n  client_address: truncated\n"
      "  blocked_queries_format: json\n";
  const auto r = parse_config(yaml, "cfg.yaml", "/nonexistent");
  INFO(joined(r.errors));
  REQUIRE(r.config);
  const auto& c = *r.config;
  REQUIRE(c.metrics.listen);
  CHECK(c.metrics.listen->to_string() == "127.0.0.1:9200");
  CHECK(c.control.mode == 0640);
  CHECK(c.control.group == "sinkholed");
  CHECK(c.log.blocked_queries);
  CHECK(c.log.client_address == sinkhole::config::LogConfig::ClientAddress::kTruncated);
  CHECK(c.log.blocked_queries_format == sinkhole::config::LogConfig::BlockedFormat::kJson);
  const auto d = parse_config("upstreams: [192.0.2.1]\n", "cfg.yaml", "/nonexistent");
  REQUIRE(d.config);
  CHECK_FALSE(d.config->metrics.listen);  // no HTTP listener unless asked
  CHECK(d.config->control.mode == 0660);
  CHECK_FALSE(d.config->log.blocked_queries);
  CHECK(d.config->log.client_address == sinkhole::config::LogConfig::ClientAddress::kNone);
  CHECK(d.config->log.blocked_queries_format == sinkhole::config::LogConfig::BlockedFormat::kText);
}

TEST_CASE("parse_config reports bad metrics, control and log values at their position") {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"metrics:\n  listen: nowhere\n",
       "cfg.yaml:2:11: metrics.listen must be an address like 127.0.0.1:9153, not 'nowhere'"},
      {"metrics:\n  port: 1\n",
       "cfg.yaml:2:3: unknown key 'port' in metrics (known: listen, max_connections, "
       "max_connections_per_client, timeout)"},
      {"control:\n  mode: \"0999\"\n",
       "cfg.yaml:2:9: control.mode must be octal permissions like 0660, not '0999'"},
      {"log:\n  blocked_queries: yes\n",
       "cfg.yaml:2:20: log.blocked_queries must be true or false"},
      {"log:\n  client_address: half\n",
       "cfg.yaml:2:19: log.client_address 'half' is not one of none, truncated, full"},
      {"log:\n  blocked_queries_format: csv\n",
       "cfg.yaml:2:27: log.blocked_queries_format 'csv' is not one of text, json"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    const auto r = parse_config(c.yaml, "cfg.yaml", "/nonexistent");
    CHECK_FALSE(r.config);
    REQUIRE(!r.errors.empty());
    CHECK(r.errors[0] == c.want);
  }
}

TEST_CASE("parse_config reads the TCP client limits, with their defaults") {
  const char* yaml =
      "upstreams: [192.0.2.1]\n"
      "server:\n"
      "  tcp_max_connections_per_client: 8\n"
      "  tcp_query_timeout: 1500ms\n"
      "  tcp_write_timeout: 3s\n"
      "  tcp_max_queued_bytes: 1MiB\n"
      "  tcp_max_query_size: 1024\n";
  const auto r = parse_config(yaml, "cfg.yaml", "/nonexistent");
  INFO(joined(r.errors));
  REQUIRE(r.config);
  const auto& s = r.config->server;
  CHECK(s.tcp_max_connections_per_client == 8);
  CHECK(s.tcp_query_timeout == Millis{1500});
  CHECK(s.tcp_write_timeout == Millis{3000});
  CHECK(s.tcp_max_queued_bytes == size_t{1} << 20);
  CHECK(s.tcp_max_query_size == 1024);
  const auto d = parse_config("upstreams: [192.0.2.1]\n", "cfg.yaml", "/nonexistent");
  REQUIRE(d.config);
  const auto& def = d.config->server;
  CHECK(def.tcp_max_connections_per_client == 64);
  CHECK(def.tcp_query_timeout == Millis{5000});
  CHECK(def.tcp_write_timeout == Millis{10000});
  CHECK(def.tcp_max_queued_bytes == size_t{256} << 10);
  CHECK(def.tcp_max_query_size == 4096);
}

TEST_CASE("parse_config reads the metrics endpoint's limits, with their defaults") {
  const auto r = parse_config(
      "upstreams: [192.0.2.1]\n"
      "metrics:\n  listen: 127.0.0.1:9200\n  max_connections: 32\n"
      "  max_connections_per_client: 4\n  timeout: 2s\n",
      "cfg.yaml", "/nonexistent");
  INFO(joined(r.errors));
  REQUIRE(r.config);
  CHECK(r.config->metrics.max_connections == 32);
  CHECK(r.config->metrics.max_connections_per_client == 4);
  CHECK(r.config->metrics.timeout == Millis{2000});
  const auto d = parse_config("upstreams: [192.0.2.1]\n", "cfg.yaml", "/nonexistent");
  REQUIRE(d.config);
  CHECK(d.config->metrics.max_connections == 256);
  CHECK(d.config->metrics.max_connections_per_client == 16);
  CHECK(d.config->metrics.timeout == Millis{5000});
}

TEST_CASE("parse_config reports bad TCP and metrics limits at their position") {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"server:\n  tcp_max_queued_bytes: 1KiB\n",
       "cfg.yaml:2:25: server.tcp_max_queued_bytes must be a size from 65537 to 1073741824 "
       "bytes (e.g. 64KiB), not '1KiB'"},
      {"server:\n  tcp_max_queued_bytes: lots\n",
       "cfg.yaml:2:25: server.tcp_max_queued_bytes must be a size from 65537"},
      {"server:\n  tcp_max_query_size: 100\n",
       "cfg.yaml:2:23: server.tcp_max_query_size must be a size from 512 to 65535 bytes (e.g. "
       "64KiB), not '100'"},
      {"server:\n  tcp_max_query_size: 64KiB\n",
       "cfg.yaml:2:23: server.tcp_max_query_size must be a size from 512 to 65535"},
      {"server:\n  tcp_max_connections_per_client: 0\n",
       "cfg.yaml:2:35: server.tcp_max_connections_per_client must be an integer from 1 to "
       "1000000, not '0'"},
      {"server:\n  tcp_query_timeout: 0s\n",
       "cfg.yaml:2:22: server.tcp_query_timeout must be a positive duration"},
      {"server:\n  tcp_write_timeout: soon\n",
       "cfg.yaml:2:22: server.tcp_write_timeout must be a positive duration"},
      {"metrics:\n  max_connections: 0\n",
       "cfg.yaml:2:20: metrics.max_connections must be an integer from 1 to 65536, not '0'"},
      {"metrics:\n  max_connections_per_client: many\n",
       "cfg.yaml:2:31: metrics.max_connections_per_client must be an integer from 1 to 65536"},
      {"metrics:\n  timeout: 1500ms\n",
       "cfg.yaml:2:12: metrics.timeout must be whole seconds (e.g. 5s)"},
  };
  sinkhole::test::TempFile resolv("nameserver 192.0.2.53\n");
  for (const auto& c : cases) {
    INFO(c.yaml);
    const auto r = parse_config(c.yaml, "cfg.yaml", resolv.path());
    CHECK_FALSE(r.config);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].substr(0, std::strlen(c.want)) == c.want);
  }
}

TEST_CASE("upstream.zone_share is a share of max_inflight, never below one question") {
  struct Case {
    const char* yaml;
    unsigned want;
  } cases[] = {
      {"upstreams: [192.0.2.1]\nupstream:\n  max_inflight: 5\n", 1},  // 10% of 5 → 1
      {"upstreams: [192.0.2.1]\nupstream:\n  max_inflight: 20\n  zone_share: 100%\n", 20},
      {"upstreams: [192.0.2.1]\nupstream:\n  max_inflight: 64\n  zone_share: 50%\n", 32},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    const auto r = parse_config(c.yaml, "cfg.yaml", "/nonexistent");
    REQUIRE(r.config.has_value());
    CHECK(r.config->upstream.zone_limit() == c.want);
  }
}

TEST_CASE("parse_config reads allow_query, deny_query, refuse_action and rate_limit") {
  using sinkhole::config::AccessConfig;
  using sinkhole::policy::to_string;
  sinkhole::test::TempFile resolv("nameserver 192.0.2.53\n");
  SUBCASE("defaults: private ranges admitted, refused otherwise, no rate limit") {
    const auto r = parse_config("", "cfg.yaml", resolv.path());
    REQUIRE(r.config.has_value());
    std::vector<std::string> allow;
    for (const auto& c : r.config->server.access.allow_query) allow.push_back(to_string(c));
    CHECK(allow == std::vector<std::string>{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12",
                                            "192.168.0.0/16", "100.64.0.0/10", "fc00::/7",
                                            "fe80::/10"});
    CHECK(r.config->server.access.deny_query.empty());
    CHECK(r.config->server.access.refuse_action == AccessConfig::RefuseAction::kRefuse);
    const auto& rl = r.config->rate_limit;
    CHECK_FALSE(rl.enabled());
    CHECK(rl.slip == 2);
    CHECK(rl.ipv4_prefix == 24);
    CHECK(rl.ipv6_prefix == 56);
    CHECK(rl.table_size == 65536);
  }
  SUBCASE("every key") {
    const auto r = parse_config(
        "server:\n  allow_query: [203.0.113.0/24, \"2001:db8::/32\"]\n"
        "  deny_query: [203.0.113.128/25]\n  refuse_action: drop\n"
        "rate_limit:\n  responses_per_second: 20\n  burst: 40\n  slip: 0\n"
        "  ipv4_prefix: 32\n  ipv6_prefix: 64\n  exempt: [192.0.2.0/24]\n  table_size: 4096\n",
        "cfg.yaml", resolv.path());
    INFO(joined(r.errors));
    REQUIRE(r.config.has_value());
    const auto& a = r.config->server.access;
    REQUIRE(a.allow_query.size() == 2);
    CHECK(to_string(a.allow_query[1]) == "2001:db8::/32");
    REQUIRE(a.deny_query.size() == 1);
    CHECK(to_string(a.deny_query[0]) == "203.0.113.128/25");
    CHECK(a.refuse_action == AccessConfig::RefuseAction::kDrop);
    const auto& rl = r.config->rate_limit;
    CHECK(rl.enabled());
    CHECK(rl.responses_per_second == 20);
    CHECK(rl.burst == 40);
    CHECK(rl.slip == 0);
    CHECK(rl.ipv4_prefix == 32);
    CHECK(rl.ipv6_prefix == 64);
    REQUIRE(rl.exempt.size() == 1);
    CHECK(to_string(rl.exempt[0]) == "192.0.2.0/24");
    CHECK(rl.table_size == 4096);
  }
  SUBCASE("each error at its position") {
    struct Case {
      std::string yaml;
      std::string want;
    } cases[] = {
        {"server:\n  allow_query: 10.0.0.0/8\n",
         "cfg.yaml:2:16: server.allow_query must be a list of prefixes like 10.0.0.0/8"},
        {"server:\n  allow_query: [10.0.0.0/8, 10.1.2.3/8]\n",
         "cfg.yaml:2:29: server.allow_query: '10.1.2.3/8': "},
        {"server:\n  deny_query: [nonsense]\n", "cfg.yaml:2:16: server.deny_query: 'nonsense': "},
        {"server:\n  refuse_action: ignore\n",
         "cfg.yaml:2:18: server.refuse_action 'ignore' is not one of refuse, drop"},
        {"rate_limit:\n  responses_per_second: -1\n",
         "cfg.yaml:2:25: rate_limit.responses_per_second must be an integer from 0 to 1000000, "
         "not '-1'"},
        {"rate_limit:\n  slip: 11\n", "cfg.yaml:2:9: rate_limit.slip must be an integer from 0 "},
        {"rate_limit:\n  ipv4_prefix: 33\n", "cfg.yaml:2:16: rate_limit.ipv4_prefix must be "},
        {"rate_limit:\n  ipv6_prefix: 8\n", "cfg.yaml:2:16: rate_limit.ipv6_prefix must be "},
        {"rate_limit:\n  table_size: 10\n", "cfg.yaml:2:15: rate_limit.table_size must be "},
        {"rate_limit:\n  exempt: [1.2.3.4/33]\n", "cfg.yaml:2:12: rate_limit.exempt: '1.2.3.4/33'"},
        {"rate_limit:\n  rate: 5\n", "cfg.yaml:2:3: unknown key 'rate' in rate_limit"},
        {"rate_limit: 5\n", "cfg.yaml:1:13: rate_limit must be a mapping"},
    };
    for (const auto& c : cases) {
      INFO(c.yaml);
      const auto r = parse_config(c.yaml, "cfg.yaml", resolv.path());
      CHECK_FALSE(r.config.has_value());
      REQUIRE(!r.errors.empty());
      INFO(r.errors[0]);
      CHECK(r.errors[0].substr(0, c.want.size()) == c.want);
    }
  }
}

TEST_CASE("server.proxy_protocol_from: off by default, a prefix list, errors at their place") {
  using sinkhole::policy::to_string;
  sinkhole::test::TempFile resolv("nameserver 192.0.2.53\n");
  auto r = parse_config("", "cfg.yaml", resolv.path());
  REQUIRE(r.config.has_value());
  CHECK(r.config->server.access.proxy_protocol_from.empty());
  r = parse_config("server:\n  proxy_protocol_from: [127.0.0.2/32, \"::1/128\"]\n", "cfg.yaml",
                   resolv.path());
  INFO(joined(r.errors));
  REQUIRE(r.config.has_value());
  const auto& p = r.config->server.access.proxy_protocol_from;
  REQUIRE(p.size() == 2);
  CHECK(to_string(p[0]) == "127.0.0.2/32");
  CHECK(to_string(p[1]) == "::1/128");
  const struct {
    const char* yaml;
    std::string want;
  } cases[] = {
      {"server:\n  proxy_protocol_from: 10.0.0.1/32\n",
       "cfg.yaml:2:24: server.proxy_protocol_from must be a list of prefixes like 10.0.0.0/8"},
      {"server:\n  proxy_protocol_from: [10.0.0.1/32, dnsdist]\n",
       "cfg.yaml:2:38: server.proxy_protocol_from: 'dnsdist': "},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    const auto bad = parse_config(c.yaml, "cfg.yaml", resolv.path());
    CHECK_FALSE(bad.config.has_value());
    REQUIRE(!bad.errors.empty());
    INFO(bad.errors[0]);
    CHECK(bad.errors[0].substr(0, c.want.size()) == c.want);
  }
}

TEST_CASE("server.runtime_dir: default, the control socket inside it unless set, errors") {
  auto r = parse_config("upstreams: [192.0.2.1]\n", "cfg.yaml", "/nonexistent");
  REQUIRE(r.config);
  CHECK(r.config->server.runtime_dir == "/run/sinkholed");
  CHECK(r.config->control.socket == "/run/sinkholed/control.sock");
  CHECK(r.config->log.debug_query_rate == 100);

  r = parse_config(
      "upstreams: [192.0.2.1]\nserver:\n  runtime_dir: /tmp/sh-run\nlog:\n  debug_query_rate: 5\n",
      "cfg.yaml", "/nonexistent");
  INFO(joined(r.errors));
  REQUIRE(r.config);
  CHECK(r.config->server.runtime_dir == "/tmp/sh-run");
  CHECK(r.config->control.socket == "/tmp/sh-run/control.sock");
  CHECK(r.config->log.debug_query_rate == 5);

  // A socket set explicitly (or disabled) stays where it is said to be.
  r = parse_config(
      "upstreams: [192.0.2.1]\nserver:\n  runtime_dir: /tmp/sh-run\n"
      "control:\n  socket: /srv/ctl.sock\n",
      "cfg.yaml", "/nonexistent");
  REQUIRE(r.config);
  CHECK(r.config->control.socket == "/srv/ctl.sock");
  r = parse_config("upstreams: [192.0.2.1]\ncontrol:\n  socket: \"\"\n", "cfg.yaml",
                   "/nonexistent");
  REQUIRE(r.config);
  CHECK(r.config->control.socket.empty());

  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"server:\n  runtime_dir: run/sinkholed\n",
       "cfg.yaml:2:16: server.runtime_dir must be an absolute path, not 'run/sinkholed'"},
      {"log:\n  debug_query_rate: 0\n", "cfg.yaml:2:21: log.debug_query_rate must be"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    const auto bad = parse_config(c.yaml, "cfg.yaml", "/nonexistent");
    CHECK_FALSE(bad.config);
    REQUIRE(!bad.errors.empty());
    CHECK(bad.errors[0].rfind(c.want, 0) == 0);
  }
}

TEST_CASE("protected_users.key_file: anchored at the config's directory, its position kept") {
  const auto abs = parse_config("upstreams: [127.0.0.1]\nprotected_users:\n  key_file: /etc/k\n",
                                "/etc/sinkholed/cfg.yaml");
  REQUIRE(abs.config);
  CHECK(abs.config->protected_users.key_file == "/etc/k");
  CHECK(abs.config->protected_users.key_file_at == "/etc/sinkholed/cfg.yaml:3:13");
  const auto rel = parse_config("upstreams: [127.0.0.1]\nprotected_users: {key_file: fleet.key}\n",
                                "/etc/sinkholed/cfg.yaml");
  REQUIRE(rel.config);
  CHECK(rel.config->protected_users.key_file == "/etc/sinkholed/fleet.key");
  // Unset: a random key per process (no file).
  const auto none = parse_config("upstreams: [127.0.0.1]\n", "cfg.yaml");
  REQUIRE(none.config);
  CHECK(none.config->protected_users.key_file.empty());

  const auto unknown =
      parse_config("upstreams: [127.0.0.1]\nprotected_users:\n  key: x\n", "cfg.yaml");
  REQUIRE(unknown.errors.size() == 1);
  CHECK(unknown.errors[0].rfind("cfg.yaml:3:3: unknown key 'key' in protected_users", 0) == 0);
  const auto empty =
      parse_config("upstreams: [127.0.0.1]\nprotected_users:\n  key_file: \"\"\n", "cfg.yaml");
  REQUIRE(empty.errors.size() == 1);
  CHECK(empty.errors[0] == "cfg.yaml:3:13: protected_users.key_file must name a file");
  const auto list =
      parse_config("upstreams: [127.0.0.1]\nprotected_users:\n  key_file: [a]\n", "cfg.yaml");
  REQUIRE(list.errors.size() == 1);
  CHECK(list.errors[0].rfind("cfg.yaml:3:13: ", 0) == 0);
  const auto scalar = parse_config("upstreams: [127.0.0.1]\nprotected_users: yes\n", "cfg.yaml");
  REQUIRE(scalar.errors.size() == 1);
  CHECK(scalar.errors[0].rfind("cfg.yaml:2:18: protected_users must be a mapping", 0) == 0);
}
