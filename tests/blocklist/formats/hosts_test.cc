// SPDX-License-Identifier: MIT
// read_hosts: the address forms, several names a line, localhost lines skipped and counted,
// comments, CRLF, a BOM, IDN, bad names and garbage; and the fixture file.
#include "blocklist/formats/hosts.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "blocklist/list_reader.h"

namespace {

using namespace sinkhole::blocklist;

ParsedList read(std::string_view text) {
  ParsedList out;
  read_hosts(text, out);
  return out;
}

std::vector<std::string> names(const ParsedList& l) {
  std::vector<std::string> v;
  for (const auto& d : l.domains) v.push_back(d.name);
  return v;
}

size_t skipped(const ParsedList& l, const std::string& reason) {
  auto it = l.stats.skipped.find(reason);
  return it == l.stats.skipped.end() ? 0 : it->second;
}

TEST_CASE("read_hosts: one line, expected names, skips and rejects") {
  struct Case {
    const char* text;
    std::vector<std::string> names;
    size_t localhost = 0;
    size_t non_sinkhole = 0;
    const char* reject = nullptr;
  };
  const Case cases[] = {
      {"0.0.0.0 ads.example.com", {"ads.example.com"}},
      {"127.0.0.1 Ads.Example.COM.", {"ads.example.com"}},
      {":: v6.example", {"v6.example"}},
      {"::1 v6.example", {"v6.example"}},
      {"127.0.0.2 loop.example", {"loop.example"}},
      {"0.0.0.0\ta.example  b.example\tc.example", {"a.example", "b.example", "c.example"}},
      {"0.0.0.0 a.example # comment b.example", {"a.example"}},
      {"0.0.0.0 a.example#comment", {"a.example"}},
      {"0.0.0.0 a.example\r", {"a.example"}},
      {"0.0.0.0 _srv.example 1.2.3.4", {"_srv.example", "1.2.3.4"}},
      {"0.0.0.0 cá-cược.vn", {"xn--c-cc-5na85j946j.vn"}},
      {"127.0.0.1 localhost", {}, 1},
      {"127.0.0.1 LOCALHOST.localdomain", {}, 1},
      {"127.0.0.1 local", {}, 1},
      {"255.255.255.255 broadcasthost", {}, 1},
      {"::1 localhost ip6-localhost ip6-loopback", {}, 3},
      {"fe80::1%lo0 localhost", {}, 1},
      {"ff02::1 ip6-allnodes", {}, 1},
      {"0.0.0.0 0.0.0.0", {}, 1},
      {"0.0.0.0 ip6-real.example", {"ip6-real.example"}},  // only single labels are local
      {"192.168.1.1 router.lan", {}, 0, 1},
      {"# 0.0.0.0 commented.example", {}},
      {"0.0.0.0", {}, 0, 0, "address without a name"},
      {"ads.example.com", {}, 0, 0, "expected an address before the names"},
      {"0.0.0.0.0 x.example", {}, 0, 0, "expected an address before the names"},
      {"0.0.0.0 bad/name.example", {}, 0, 0, "invalid character '/'"},
      {"\x7f\x80\xfe garbage", {}, 0, 0, "expected an address before the names"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    ParsedList l = read(c.text);
    CHECK(names(l) == c.names);
    for (const DomainEntry& d : l.domains) {
      CHECK(d.scope == Scope::kSubtree);
      CHECK(d.line == 1);
    }
    CHECK(skipped(l, "localhost entry") == c.localhost);
    CHECK(skipped(l, "non-sinkhole address") == c.non_sinkhole);
    if (c.reject) {
      REQUIRE(l.stats.rejects.size() == 1);
      CHECK(l.stats.rejects[0].line == 1);
      CHECK(l.stats.rejects[0].reason.starts_with(c.reject));
    } else {
      CHECK(l.stats.rejects.empty());
    }
  }
}

TEST_CASE("read_hosts: a bad name does not take the good ones on its line with it") {
  ParsedList l = read("0.0.0.0 good.example bad!.example other.example\n");
  CHECK(names(l) == std::vector<std::string>{"good.example", "other.example"});
  REQUIRE(l.stats.rejects.size() == 1);
  CHECK(l.stats.rejects[0].reason == "invalid character '!': 'bad!.example'");
}

TEST_CASE("read_hosts: BOM and CRLF") {
  ParsedList l = read(
      "\xEF\xBB\xBF"
      "0.0.0.0 a.example\r\n127.0.0.1 localhost\r\n0.0.0.0 b.example");
  CHECK(l.stats.lines == 3);
  CHECK(names(l) == std::vector<std::string>{"a.example", "b.example"});
  CHECK(l.domains[1].line == 3);
  CHECK(skipped(l, "localhost entry") == 1);
}

TEST_CASE("hosts fixture through read_list_file") {
  ParsedList l = read_list_file(SINKHOLE_FIXTURES "/hosts.txt", Format::kHosts);
  CHECK(l.stats.lines == 21);
  CHECK(names(l) == std::vector<std::string>{"ads.example.com", "tracker.example", "one.example",
                                             "two.example", "three.example", "v6-any.example",
                                             "v6-loopback.example", "_underscore.example",
                                             "123.456.example", "xn--c-cc-5na85j946j.vn",
                                             "good.example"});
  CHECK(l.domains.front().line == 9);
  CHECK(l.stats.entries == 11);
  CHECK(l.stats.duplicates == 2);  // punycode twin on line 15, ads.example.com again on 21
  CHECK(skipped(l, "localhost entry") == 8);
  CHECK(skipped(l, "non-sinkhole address") == 1);
  REQUIRE(l.stats.rejects.size() == 4);
  CHECK(l.stats.rejects[0].line == 17);
  CHECK(l.stats.rejects[1].line == 18);
  CHECK(l.stats.rejects[2].line == 19);
  CHECK(l.stats.rejects[3].line == 20);
  CHECK(l.stats.rejects[3].reason.starts_with("label longer than 63 octets"));
}

}  // namespace
