// SPDX-License-Identifier: MIT
// decode_rpz_ip: the RPZ IP trigger owner encoding (IPv4 reversed octets, IPv6 reversed hex
// words with `zz`), and every malformed form rejected with a reason.
#include "blocklist/formats/rpz_ip.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <array>
#include <string>

namespace {

using sinkhole::blocklist::decode_rpz_ip;
using sinkhole::blocklist::IpTriggerEntry;

std::string decoded(const char* labels) {
  IpTriggerEntry e;
  std::string error;
  INFO(labels);
  if (!decode_rpz_ip(labels, e, error)) return "error: " + error;
  char text[INET6_ADDRSTRLEN];
  REQUIRE(inet_ntop(e.family == 4 ? AF_INET : AF_INET6, e.addr.data(), text, sizeof text));
  return std::string(text) + "/" + std::to_string(e.prefix);
}

TEST_CASE("decode_rpz_ip: IPv4 and IPv6 prefixes") {
  struct Case {
    const char* labels;
    const char* want;
  } cases[] = {
      {"32.1.0.0.127", "127.0.0.1/32"},
      {"24.0.2.0.192", "192.0.2.0/24"},
      {"8.0.0.0.10", "10.0.0.0/8"},
      {"1.0.0.0.128", "128.0.0.0/1"},
      {"32.255.255.255.255", "255.255.255.255/32"},
      {"128.1.zz.1.2001", "2001:1::1/128"},
      {"48.zz.8.db8.2001", "2001:db8:8::/48"},
      {"128.1.0.0.0.0.0.0.fe80", "fe80::1/128"},
      {"128.8.7.6.5.4.3.2.1", "1:2:3:4:5:6:7:8/128"},
      {"128.zz", "::/128"},
      {"64.zz.ABCD.2001", "error: rpz IP trigger: 'ABCD' is not a hex word"},  // names are
                                                                               // lower-cased first
      {"128.1.zz.ffff", "ffff::1/128"},
      {"128.1.0.0.0.0.0.zz.1", "1::1/128"},  // zz for one zero word
  };
  for (const auto& c : cases) CHECK(decoded(c.labels) == c.want);
}

TEST_CASE("decode_rpz_ip: malformed encodings are errors") {
  const char* bad[] = {
      "0.0.0.0.0",               // length 0
      "33.1.0.0.127",            // IPv4 length past 32
      "129.1.zz.1.2001",         // IPv6 length past 128
      "x.1.0.0.127",             // length not a number
      "32.256.0.0.127",          // octet over 255
      "32.1.0.127",              // three octets
      "32.1.0.0.0.127",          // five octets: neither form
      "24.1.2.0.192",            // host bits past /24
      "64.zz.1.zz.2001",         // two zz
      "128.1.2.3.4.5.6.7.8.9",   // too many labels
      "128.12345.zz.2001",       // word over 4 digits
      "128.g.zz.2001",           // not hex
      "127.1.zz.1.2001",         // host bit past /127
      "128.1.2.3.4.5.6.7.zz.8",  // zz with 8 words
      "24",                      // no address
      "",
  };
  for (const char* labels : bad) {
    INFO(labels);
    IpTriggerEntry e;
    std::string error;
    CHECK_FALSE(decode_rpz_ip(labels, e, error));
    CHECK(error.find("rpz IP trigger") == 0);
  }
}

}  // namespace
