// SPDX-License-Identifier: MIT
#include "util/base64.h"

#include <doctest/doctest.h>

using sinkhole::util::base64_decode;
using sinkhole::util::base64_encode;

TEST_CASE("base64: RFC 4648 vectors, any byte round-trips, bad input refused") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_decode("Zm9vYg==") == std::optional<std::string>("foob"));
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(base64_decode(base64_encode(all)) == std::optional<std::string>(all));
  CHECK_FALSE(base64_decode("Zm9"));
  CHECK_FALSE(base64_decode("Zm9v!A=="));
  CHECK_FALSE(base64_decode("Z=9v"));
}
