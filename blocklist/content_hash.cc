// SPDX-License-Identifier: MIT
#include "blocklist/content_hash.h"

#include <xxhash.h>

#include <memory>
#include <new>

namespace sinkhole::blocklist {

uint64_t content_hash(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

uint64_t content_hash(std::initializer_list<std::string_view> parts) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                 &XXH3_freeState);
  if (!state) throw std::bad_alloc();
  XXH3_64bits_reset(state.get());
  for (std::string_view p : parts) {
    const uint64_t n = p.size();
    XXH3_64bits_update(state.get(), &n, sizeof n);
    XXH3_64bits_update(state.get(), p.data(), p.size());
  }
  return XXH3_64bits_digest(state.get());
}

}  // namespace sinkhole::blocklist
