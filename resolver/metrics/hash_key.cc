// SPDX-License-Identifier: MIT
#include "resolver/metrics/hash_key.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <bit>
#include <cctype>
#include <cstring>

#include "util/read_file.h"

namespace sinkhole::metrics {

namespace {

// The label the fingerprint hashes; a new meaning of the fingerprint needs a new label.
constexpr std::string_view kFingerprintLabel = "sinkholed protected-users key fingerprint v1";

// A key file is 32 digits and a newline; anything much longer is not a key file.
constexpr size_t kMaxKeyFileBytes = 4096;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

uint64_t load_le64(const char* p) noexcept {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void round() noexcept {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  void absorb(uint64_t m) noexcept {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

}  // namespace

std::optional<ProtectedUsers::HashKey> parse_hash_key(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ProtectedUsers::HashKey> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.empty())
    return fail("the file is empty; it must hold 32 hex digits (openssl rand -hex 16)");
  size_t digits = 0;
  while (digits < text.size() && hex_value(text[digits]) >= 0) ++digits;
  if (digits < text.size())
    return fail(fmt::format(
        "character {} is not a hex digit; the file must hold only 32 hex digits (openssl rand "
        "-hex 16)",
        digits + 1));
  if (digits != 32)
    return fail(
        fmt::format("{} hex digits, not 32: the key is 128 bits (openssl rand -hex 16)", digits));
  ProtectedUsers::HashKey key;
  for (size_t i = 0; i < 32; ++i) {
    uint64_t& half = i < 16 ? key.k0 : key.k1;
    half = (half << 4) | static_cast<uint64_t>(hex_value(text[i]));
  }
  if (key.k0 == 0 && key.k1 == 0) return fail("the key is all zeros");
  return key;
}

LoadedKey load_hash_key(const std::string& path) {
  LoadedKey out;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    out.error = fmt::format("cannot read it: {}", std::strerror(errno));
    return out;
  }
  if (!S_ISREG(st.st_mode)) {
    out.error = fmt::format("it is {}, not a key file", util::file_kind(st.st_mode));
    return out;
  }
  if ((st.st_mode & 007) != 0) {
    out.error = fmt::format(
        "its mode {:04o} lets others read or write it; the key must stay secret (chmod 0640, "
        "owner root, group sinkholed)",
        st.st_mode & 07777);
    return out;
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileBytes)) {
    out.error = fmt::format("{} bytes: not a key file (32 hex digits)", st.st_size);
    return out;
  }
  std::string why;
  const auto text = util::read_regular_file(path, &why);
  if (!text) {
    out.error = "cannot read it: " + why;
    return out;
  }
  out.key = parse_hash_key(*text, &out.error);
  if (out.key && (st.st_mode & 020) != 0)
    out.warning = fmt::format("its mode {:04o} lets its group replace the key", st.st_mode & 07777);
  return out;
}

uint64_t siphash24(const ProtectedUsers::HashKey& key, std::string_view data) noexcept {
  SipState s{key.k0 ^ 0x736f6d6570736575ull, key.k1 ^ 0x646f72616e646f6dull,
             key.k0 ^ 0x6c7967656e657261ull, key.k1 ^ 0x7465646279746573ull};
  const size_t whole = data.size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) s.absorb(load_le64(data.data() + i));
  char tail[8] = {};
  if (data.size() > whole) std::memcpy(tail, data.data() + whole, data.size() - whole);
  uint64_t last = load_le64(tail) | (static_cast<uint64_t>(data.size() & 0xff) << 56);
  s.absorb(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

std::string key_fingerprint(const ProtectedUsers::HashKey& key) {
  return fmt::format("{:016x}", siphash24(key, kFingerprintLabel));
}

}  // namespace sinkhole::metrics
