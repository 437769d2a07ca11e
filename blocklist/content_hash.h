// SPDX-License-Identifier: MIT
// The content hash of a list: XXH3-64 of its bytes, exactly as read from disk (no BOM or
// line-end cleaning), so that two versions of a file hash alike only when they are the same
// bytes. Per-list rebuilds key on it (policy/snapshot_builder.cc: an unchanged list is
// reused, not compiled again). XXH3 (libxxhash) rather than a cryptographic hash: this is
// not a defence against a forged list (whoever can write the file decides its content
// anyway), and at ~10 GB/s hashing a 78 MB zone costs milliseconds. Stable across processes
// and machines (unlike absl::Hash, which is salted per process). Pure; any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace sinkhole::blocklist {

uint64_t content_hash(std::string_view bytes);
// One hash of several parts, each length-prefixed (so "ab"+"c" and "a"+"bc" differ).
uint64_t content_hash(std::initializer_list<std::string_view> parts);

}  // namespace sinkhole::blocklist
