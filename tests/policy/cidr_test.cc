// SPDX-License-Identifier: MIT
// parse_cidr and to_string: the forms a policy file may use, canonical output (lower-case,
// compressed IPv6, always with the length), the round trip, and every rejection with the
// message an operator sees.
#include "policy/cidr.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <string>

namespace {

using sinkhole::policy::Cidr;
using sinkhole::policy::parse_cidr;
using sinkhole::policy::to_string;

TEST_CASE("parse_cidr accepts networks and host addresses") {
  struct Case {
    std::string text;
    int family;
    int prefix;
    std::string canonical;
  };
  const Case cases[] = {
      {"10.0.0.0/8", AF_INET, 8, "10.0.0.0/8"},
      {"192.0.2.1", AF_INET, 32, "192.0.2.1/32"},
      {"192.0.2.1/32", AF_INET, 32, "192.0.2.1/32"},
      {"0.0.0.0/0", AF_INET, 0, "0.0.0.0/0"},
      {"100.64.0.0/10", AF_INET, 10, "100.64.0.0/10"},
      {"255.255.255.255", AF_INET, 32, "255.255.255.255/32"},
      {"203.0.113.128/25", AF_INET, 25, "203.0.113.128/25"},
      {"::/0", AF_INET6, 0, "::/0"},
      {"2001:db8::/32", AF_INET6, 32, "2001:db8::/32"},
      {"2001:DB8::/32", AF_INET6, 32, "2001:db8::/32"},  // upper case is fine, printed lower
      {"2001:0DB8:0000::/48", AF_INET6, 48, "2001:db8::/48"},
      {"::1", AF_INET6, 128, "::1/128"},
      {"::1/128", AF_INET6, 128, "::1/128"},
      {"fe80::/10", AF_INET6, 10, "fe80::/10"},
      {"2001:db8:0:1::/64", AF_INET6, 64, "2001:db8:0:1::/64"},
      {"::ffff:192.0.2.0/120", AF_INET6, 120, "::ffff:192.0.2.0/120"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6, 128,
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"},
      {"10.0.0.0/08", AF_INET, 8, "10.0.0.0/8"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    std::string error = "untouched";
    const auto cidr = parse_cidr(c.text, &error);
    REQUIRE(cidr.has_value());
    CHECK(error == "untouched");
    CHECK(cidr->family == c.family);
    CHECK(cidr->prefix == c.prefix);
    CHECK(to_string(*cidr) == c.canonical);
  }
}

TEST_CASE("parse_cidr stores network bytes in order") {
  const auto v4 = parse_cidr("192.0.2.0/24", nullptr);
  REQUIRE(v4.has_value());
  CHECK(v4->addr[0] == 192);
  CHECK(v4->addr[1] == 0);
  CHECK(v4->addr[2] == 2);
  CHECK(v4->addr[3] == 0);
  for (size_t i = 4; i < 16; ++i) CHECK(v4->addr[i] == 0);

  const auto v6 = parse_cidr("2001:db8::1", nullptr);
  REQUIRE(v6.has_value());
  CHECK(v6->addr[0] == 0x20);
  CHECK(v6->addr[1] == 0x01);
  CHECK(v6->addr[2] == 0x0d);
  CHECK(v6->addr[3] == 0xb8);
  CHECK(v6->addr[15] == 0x01);
}

TEST_CASE("parse_cidr rejects with a message naming the problem") {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", "empty CIDR: expected an address or address/length"},
      {"10.1.2.3/8", "bad CIDR \"10.1.2.3/8\": host bits set: did you mean 10.0.0.0/8?"},
      {"192.168.1.1/24",
       "bad CIDR \"192.168.1.1/24\": host bits set: did you mean 192.168.1.0/24?"},
      {"2001:db8::1/32", "bad CIDR \"2001:db8::1/32\": host bits set: did you mean 2001:db8::/32?"},
      {"::1/0", "bad CIDR \"::1/0\": host bits set: did you mean ::/0?"},
      {"10.0.0.0/33",
       "bad CIDR \"10.0.0.0/33\": prefix length 33 is longer than the 32 bits of an IPv4 address"},
      {"::/129",
       "bad CIDR \"::/129\": prefix length 129 is longer than the 128 bits of an IPv6 address"},
      {"10.0.0.0/", "bad CIDR \"10.0.0.0/\": missing prefix length after '/'"},
      {"/8", "bad CIDR \"/8\": missing address before '/'"},
      {"10.0.0.0/-1",
       "bad CIDR \"10.0.0.0/-1\": prefix length \"-1\" is not a number from 0 to 32"},
      {"10.0.0.0/+8",
       "bad CIDR \"10.0.0.0/+8\": prefix length \"+8\" is not a number from 0 to 32"},
      {"10.0.0.0/0008",
       "bad CIDR \"10.0.0.0/0008\": prefix length \"0008\" is not a number from 0 to 32"},
      // Found by tests/fuzz/fuzz_config: a long length overflowed the sum (UBSan).
      {"10.0.0.0/99999999999",
       "bad CIDR \"10.0.0.0/99999999999\": prefix length \"99999999999\" is not a number from 0 "
       "to 32"},
      {"10.0.0.0/8/9",
       "bad CIDR \"10.0.0.0/8/9\": prefix length \"8/9\" is not a number from 0 to 32"},
      {"10.0.0.0/ 8",
       "bad CIDR \"10.0.0.0/ 8\": prefix length \" 8\" is not a number from 0 to 32"},
      {"not-an-address",
       "bad CIDR \"not-an-address\": \"not-an-address\" is not an IPv4 or IPv6 address"},
      {"10/8", "bad CIDR \"10/8\": \"10\" is not an IPv4 or IPv6 address"},
      {"10.1", "bad CIDR \"10.1\": \"10.1\" is not an IPv4 or IPv6 address"},
      {"256.0.0.0/8", "bad CIDR \"256.0.0.0/8\": \"256.0.0.0\" is not an IPv4 or IPv6 address"},
      {"010.0.0.0/8", "bad CIDR \"010.0.0.0/8\": \"010.0.0.0\" is not an IPv4 or IPv6 address"},
      {" 10.0.0.0/8", "bad CIDR \" 10.0.0.0/8\": \" 10.0.0.0\" is not an IPv4 or IPv6 address"},
      {"10.0.0.0 /8", "bad CIDR \"10.0.0.0 /8\": \"10.0.0.0 \" is not an IPv4 or IPv6 address"},
      {"fe80::1%eth0",
       "bad CIDR \"fe80::1%eth0\": \"fe80::1%eth0\" is not an IPv4 or IPv6 address"},
      {"2001:db8:::/48",
       "bad CIDR \"2001:db8:::/48\": \"2001:db8:::\" is not an IPv4 or IPv6 address"},
      {"1:2:3:4:5:6:7:8:9",
       "bad CIDR \"1:2:3:4:5:6:7:8:9\": \"1:2:3:4:5:6:7:8:9\" is not an IPv4 or IPv6 address"},
      {std::string(100, '1'), "bad CIDR \"" + std::string(100, '1') + "\": \"" +
                                  std::string(100, '1') + "\" is not an IPv4 or IPv6 address"},
      {std::string("10.0.0.0\0/8", 11), std::string("bad CIDR \"10.0.0.0") + '\0' +
                                            "/8\": \"10.0.0.0" + '\0' +
                                            "\" is not an IPv4 or IPv6 address"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    std::string error;
    CHECK_FALSE(parse_cidr(c.text, &error).has_value());
    CHECK(error == c.message);
    CHECK_FALSE(parse_cidr(c.text, nullptr).has_value());  // a null error pointer is allowed
  }
}

TEST_CASE("to_string round-trips through parse_cidr") {
  const char* texts[] = {
      "0.0.0.0/0",     "10.0.0.0/8", "172.16.0.0/12", "192.0.2.7/32",    "::/0",
      "2001:db8::/32", "::1/128",    "fe80::/10",     "2001:db8:1::/48", "::ffff:10.0.0.0/104",
      "ff00::/8"};
  for (const char* text : texts) {
    CAPTURE(text);
    const auto cidr = parse_cidr(text, nullptr);
    REQUIRE(cidr.has_value());
    CHECK(to_string(*cidr) == text);
    const auto again = parse_cidr(to_string(*cidr), nullptr);
    REQUIRE(again.has_value());
    CHECK(*again == *cidr);
  }
}

}  // namespace
