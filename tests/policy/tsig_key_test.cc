// SPDX-License-Identifier: MIT
#include "policy/tsig_key.h"

#include <doctest/doctest.h>

using sinkhole::policy::parse_tsig_key_text;
using sinkhole::policy::TsigFileKey;
using sinkhole::policy::valid_base64;

namespace {
constexpr const char* kSecret = "Wl3iR3lHSC1q2uRnHGWvqGhGCgx+0c3oA0ab6Wyl6Tk=";
}

TEST_CASE("tsig key file: bare base64") {
  TsigFileKey k;
  std::string err;
  REQUIRE(parse_tsig_key_text(std::string(kSecret) + "\n", k, &err));
  CHECK(k.secret == kSecret);
  CHECK(k.name.empty());
}

TEST_CASE("tsig key file: keymgr -t output") {
  const std::string text =
      std::string("# hmac-sha256:feed:") + kSecret +
      "\nkey:\n  - id: feed\n    algorithm: hmac-sha256\n    secret: " + kSecret + "\n";
  TsigFileKey k;
  std::string err;
  REQUIRE(parse_tsig_key_text(text, k, &err));
  CHECK(k.secret == kSecret);
  CHECK(k.name == "feed");
  CHECK(k.algorithm == "hmac-sha256");
}

TEST_CASE("tsig key file: tsig-keygen output") {
  const std::string text =
      std::string("key \"feed.\" {\n\talgorithm hmac-sha512;\n\tsecret \"") + kSecret + "\";\n};\n";
  TsigFileKey k;
  std::string err;
  REQUIRE(parse_tsig_key_text(text, k, &err));
  CHECK(k.secret == kSecret);
  CHECK(k.name == "feed");
  CHECK(k.algorithm == "hmac-sha512");
}

TEST_CASE("tsig key file: no secret or broken base64 refused") {
  TsigFileKey k;
  std::string err;
  CHECK_FALSE(parse_tsig_key_text("", k, &err));
  CHECK(err.find("no TSIG secret") != std::string::npos);
  CHECK_FALSE(parse_tsig_key_text("not base64 at all!\n", k, &err));
  CHECK_FALSE(parse_tsig_key_text("key \"x\" {\n algorithm hmac-sha256;\n};\n", k, &err));
  CHECK_FALSE(parse_tsig_key_text("secret: abc\n", k, &err));
  CHECK(err.find("base64") != std::string::npos);
  CHECK(valid_base64("YWJj"));
  CHECK(valid_base64("YWI="));
  CHECK_FALSE(valid_base64("YW=j"));
  CHECK_FALSE(valid_base64("YW!j"));
}
