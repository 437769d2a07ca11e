// SPDX-License-Identifier: MIT
// The protected-users key file and the key fingerprint: 32 hex digits with whitespace
// around them and nothing else; files that are missing, not regular, readable by others,
// empty or short refused with a reason; SipHash-2-4 against the reference vectors; the
// fingerprint stable for a key, different between keys, and not the key itself.
#include "resolver/metrics/hash_key.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

using sinkhole::metrics::key_fingerprint;
using sinkhole::metrics::load_hash_key;
using sinkhole::metrics::parse_hash_key;
using sinkhole::metrics::ProtectedUsers;
using sinkhole::metrics::siphash24;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/hash_key_test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) const {
    const std::string p = path + "/" + name;
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }
};

}  // namespace

TEST_CASE("a key is 32 hex digits; whitespace around them is tolerated") {
  std::string error;
  const auto k = parse_hash_key("  00112233445566778899AabBccDdEeFf\n", &error);
  REQUIRE(k);
  CHECK(k->k0 == 0x0011223344556677ull);
  CHECK(k->k1 == 0x8899aabbccddeeffull);
  CHECK(parse_hash_key("00112233445566778899aabbccddeeff", &error));
}

TEST_CASE("anything but 32 hex digits is refused with a reason") {
  std::string error;
  CHECK_FALSE(parse_hash_key("", &error));
  CHECK(error.find("empty") != std::string::npos);
  CHECK_FALSE(parse_hash_key("0011223344556677", &error));  // 64 bits
  CHECK(error.find("16 hex digits, not 32") != std::string::npos);
  CHECK_FALSE(parse_hash_key("00112233445566778899aabbccddeeff00", &error));
  CHECK(error.find("34 hex digits") != std::string::npos);
  CHECK_FALSE(parse_hash_key("0011223344556677 8899aabbccddeeff", &error));
  CHECK(error.find("character 17") != std::string::npos);
  CHECK_FALSE(parse_hash_key("0x112233445566778899aabbccddeeff", &error));
  CHECK_FALSE(parse_hash_key("00112233445566778899aabbccddeefg", &error));
  CHECK_FALSE(parse_hash_key("00000000000000000000000000000000", &error));
  CHECK(error.find("zeros") != std::string::npos);
}

TEST_CASE("key files: readable and private → the key; otherwise a clear refusal") {
  TempDir dir;
  const std::string hex = "0123456789abcdef0123456789abcdef\n";
  auto ok = load_hash_key(dir.write("ok.key", hex, 0600));
  REQUIRE(ok.key);
  CHECK(ok.warning.empty());
  CHECK(load_hash_key(dir.write("group.key", hex, 0640)).key);  // root:sinkholed 0640
  auto gw = load_hash_key(dir.write("groupw.key", hex, 0660));
  CHECK(gw.key);
  CHECK(gw.warning.find("group") != std::string::npos);

  auto world = load_hash_key(dir.write("world.key", hex, 0644));
  CHECK_FALSE(world.key);
  CHECK(world.error.find("0644") != std::string::npos);
  CHECK(world.error.find("secret") != std::string::npos);

  auto missing = load_hash_key(dir.path + "/nope.key");
  CHECK_FALSE(missing.key);
  CHECK(missing.error.find("No such file") != std::string::npos);

  auto directory = load_hash_key(dir.path);
  CHECK_FALSE(directory.key);
  CHECK(directory.error.find("directory") != std::string::npos);

  auto short_key = load_hash_key(dir.write("short.key", "0123456789abcdef\n", 0600));
  CHECK_FALSE(short_key.key);
  CHECK(short_key.error.find("not 32") != std::string::npos);

  auto big = load_hash_key(dir.write("big.key", std::string(10000, 'a'), 0600));
  CHECK_FALSE(big.key);
}

TEST_CASE("SipHash-2-4 matches the reference vectors (Aumasson & Bernstein)") {
  // Key 00 01 .. 0f read little-endian, messages 00 01 .. (len-1).
  const ProtectedUsers::HashKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  std::string msg;
  CHECK(siphash24(key, msg) == 0x726fdb47dd0e0e31ull);
  for (int i = 0; i < 8; ++i) msg += static_cast<char>(i);
  CHECK(siphash24(key, msg) == 0x93f5f5799a932462ull);
  for (int i = 8; i < 15; ++i) msg += static_cast<char>(i);
  CHECK(siphash24(key, msg) == 0xa129ca6149be45e5ull);
}

TEST_CASE("the fingerprint is stable for a key, differs between keys, and is not the key") {
  const ProtectedUsers::HashKey a{0x0123456789abcdefull, 0x0123456789abcdefull};
  const ProtectedUsers::HashKey b{0x0123456789abcdefull, 0x0123456789abcdeeull};
  const std::string fa = key_fingerprint(a);
  CHECK(fa.size() == 16);
  CHECK(fa == key_fingerprint(a));
  CHECK(fa != key_fingerprint(b));
  CHECK(fa.find("0123456789abcdef") == std::string::npos);
  CHECK(key_fingerprint(ProtectedUsers::random_key()) !=
        key_fingerprint(ProtectedUsers::random_key()));
}
