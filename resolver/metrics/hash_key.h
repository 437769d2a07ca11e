// SPDX-License-Identifier: MIT
// The protected-users hash key (protected_users.h) from a file, and its fingerprint.
//
// A fleet's nodes can merge their HyperLogLog sketches only if they hashed client
// addresses with the same key (sketch_merge.h): the key file (protected_users.key_file)
// is shared by every node, and each node exports a fingerprint of its key with its
// sketches so that a merge of different keys is refused instead of silently over-counting.
//
// File format: the 128 bits as 32 hex digits (`openssl rand -hex 16 > fleet.key`), upper or
// lower case, whitespace (a final newline) around them tolerated; the first 16 digits are
// k0, the last 16 k1 (big-endian). Nothing else may be in the file.
//
// Fingerprint: SipHash-2-4 keyed with the key over a fixed label, as 16 hex digits.
// SipHash is a PRF: without the key its output says nothing about the key, and the label
// is used for nothing else, so the fingerprint cannot be turned into a hash of addresses.
// Two keys collide with probability 2^-64.
//
// Load path only (main, before the workers start); the fingerprint from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "resolver/metrics/protected_users.h"

namespace sinkhole::metrics {

// The key in `text`; nullopt and the reason in *error.
std::optional<ProtectedUsers::HashKey> parse_hash_key(std::string_view text, std::string* error);

struct LoadedKey {
  std::optional<ProtectedUsers::HashKey> key;
  std::string error;    // !key: why, one line, without the path
  std::string warning;  // key, but the file is group-writable (others may replace it)
};

// Reads and parses the key file. Refused as well as unreadable: not a regular file, and a
// file others may read or write (mode & 007): with the key and the published sketches,
// anyone could test which addresses were certainly not counted.
LoadedKey load_hash_key(const std::string& path);

// SipHash-2-4 of `data` with the key (k0, k1) — exposed for the unit test's reference vectors.
uint64_t siphash24(const ProtectedUsers::HashKey& key, std::string_view data) noexcept;

// 16 lower-case hex digits.
std::string key_fingerprint(const ProtectedUsers::HashKey& key);

}  // namespace sinkhole::metrics
