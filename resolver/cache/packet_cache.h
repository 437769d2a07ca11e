// SPDX-License-Identifier: MIT
// PacketCache: the shared cache of upstream answers in wire form, one instance for the whole
// daemon, used by every worker thread.
//
// Threads: insert(), get() and get_stale() may be called from any worker thread at the same
// time; flush(), flush(name) and stats() from the control thread (or any thread). Every
// method is thread-safe. get() never blocks: it try-locks its shard and counts contention
// as a miss (dnsdist does the same), and it never allocates.
//
// Model:
//   key    (lower-cased wire qname, qtype, qclass, DO, CD). The 64-bit hash is seeded with a
//          secret drawn from getrandom() at construction, so clients cannot aim collisions
//          at a shard; a hit compares the full key, so a collision is only ever a miss.
//   value  the upstream message exactly as received (its own ID, question and OPT), the
//          insert time, the entry TTL, and the offset of every record TTL field (OPT
//          excluded). At insert, record TTLs above the entry TTL are lowered to it.
//   hit    copy, then patch: the message is copied into the caller's buffer under the shard
//          lock; after unlocking, each TTL is decremented by the elapsed whole seconds (never
//          raised, floored at 0). The caller then applies dns::rewrite_response() to the copy
//          for the client's ID, question case and OPT.
//   TTL    positive: min TTL of the answer and authority records; negative (NXDOMAIN, or
//          NOERROR without answers; RFC 2308 §5): min(SOA TTL, SOA MINIMUM) of the authority
//          SOA, and the answer TTLs if any (CNAME chains), not cached without a SOA. Then
//          clamped to [min_ttl, max_ttl] (negative: [min_ttl, max_negative_ttl]).
//   stale  RFC 8767: an entry stays stored stale_ms past its expiry; get() treats it as a
//          miss, get_stale() (every upstream failed) returns it with all TTLs set to 30 s.
//   bound  max_bytes is split evenly over kShards shards; each evicts by CLOCK (second
//          chance): a hit sets the entry's referenced bit, the hand clears a set bit once
//          and evicts the first entry found clear, so entries read since the last sweep stay.
//
// Layout of one shard: `slots_` is the CLOCK ring (a vector of Entry, holes on a free
// list), `index_` maps the seeded key hash to a slot. Entry::blob holds, in one allocation:
//   [qname (lower-cased, name_len)][TTL offsets, u16 each (ttl_count)][message (wire_len)]
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "resolver/dns/message_view.h"
#include "resolver/dns/question_key.h"

namespace sinkhole::cache {

struct CacheOptions {
  size_t max_bytes = size_t{256} << 20;  // cache.max_bytes
  uint32_t min_ttl = 0;                  // seconds; raises the entry lifetime, not the TTLs
  uint32_t max_ttl = 86400;
  uint32_t max_negative_ttl = 3600;
  uint64_t stale_ms = 0;           // RFC 8767 window past expiry; 0 = serve-stale off
  size_t max_entry_bytes = 16384;  // larger messages are not cached
};

enum class InsertResult : uint8_t {
  kInserted,
  kMalformed,      // not parsed ok, not a response, OPT not last, bad key
  kWrongQuestion,  // the response's question is not the key's
  kRcode,          // anything but NOERROR / NXDOMAIN (SERVFAIL, REFUSED, ...)
  kTruncated,      // TC=1
  kNoSoa,          // negative answer without an authority SOA (RFC 2308 §5)
  kZeroTtl,        // TTL 0 after clamps
  kTooBig,         // above max_entry_bytes, too many records, or above a shard's budget
};

enum class LookupStatus : uint8_t { kMiss, kHit, kStale };

struct Lookup {
  LookupStatus status = LookupStatus::kMiss;
  size_t size = 0;   // bytes written to `out`
  uint32_t ttl = 0;  // remaining entry TTL in seconds (kStaleTtl when stale)
  bool hit() const { return status != LookupStatus::kMiss; }
};

struct CacheStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  uint64_t hits = 0;
  uint64_t stale_hits = 0;
  uint64_t misses = 0;
  uint64_t contended = 0;  // misses because the shard was busy (included in misses)
  uint64_t inserts = 0;
  uint64_t evictions = 0;
};

class PacketCache {
 public:
  static constexpr size_t kShards = 32;
  static constexpr uint32_t kStaleTtl = 30;     // RFC 8767 §4
  static constexpr size_t kMaxTtlFields = 512;  // records per cached message
  static constexpr size_t kEntryOverhead = 96;  // charged per entry beside its blob

  explicit PacketCache(const CacheOptions& opts = {});
  PacketCache(const PacketCache&) = delete;
  PacketCache& operator=(const PacketCache&) = delete;

  // Stores `resp` (parsed as `m`) under `key`, replacing any entry with the same key.
  InsertResult insert(const dns::QuestionKey& key, const uint8_t* resp, const dns::MessageView& m,
                      uint64_t now_ms);

  // Fresh entries only. `out` receives the stored message with aged TTLs; a hit needs
  // out_cap >= the message size.
  Lookup get(const dns::QuestionKey& key, uint64_t now_ms, uint8_t* out, size_t out_cap) noexcept;
  // As get(), and an entry expired less than stale_ms ago comes back as kStale, TTLs 30 s.
  Lookup get_stale(const dns::QuestionKey& key, uint64_t now_ms, uint8_t* out,
                   size_t out_cap) noexcept;

  void flush();
  // Removes every entry for this name (any type, class, DO, CD); returns how many.
  size_t flush(const uint8_t* qname, size_t qname_len);

  CacheStats stats() const;
  // The options in force (any thread).
  CacheOptions options() const;
  // A reload's options (any thread): TTL clamps and serve-stale apply to the next insert
  // and lookup (entries already stored keep the lifetime they were given; `sinkholectl
  // cache flush` clears them), a lower max_bytes evicts down to it at once, and 0 turns
  // the cache off (enabled() false: emptied, the pipeline neither looks up nor inserts).
  // max_entry_bytes stays as constructed.
  void reconfigure(const CacheOptions& opts);
  bool enabled() const { return max_bytes_.load(std::memory_order_relaxed) != 0; }

 private:
  struct Entry {
    std::unique_ptr<uint8_t[]> blob;  // null: free slot
    uint64_t hash = 0;
    uint64_t insert_ms = 0;
    uint32_t ttl_s = 0;
    uint16_t qtype = 0;
    uint16_t qclass = 0;
    uint16_t wire_len = 0;
    uint16_t ttl_count = 0;
    uint8_t name_len = 0;
    uint8_t key_flags = 0;  // bit 0 DO, bit 1 CD
    bool referenced = false;
    size_t charge() const;
    const uint8_t* wire() const { return blob.get() + name_len + 2 * size_t{ttl_count}; }
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<uint64_t, uint32_t> index;  // key hash -> slot
    std::vector<Entry> slots;
    std::vector<uint32_t> free_slots;
    size_t hand = 0;
    size_t bytes = 0;
    std::atomic<size_t> budget{0};  // written under `mu`, read before taking it too
    std::atomic<uint64_t> hits{0}, stale_hits{0}, misses{0}, contended{0}, inserts{0}, evictions{0};
  };

  Lookup lookup(const dns::QuestionKey& key, uint64_t now_ms, uint8_t* out, size_t out_cap,
                bool allow_stale) noexcept;
  uint64_t hash_key(const uint8_t* lower_name, size_t len, uint16_t qtype, uint16_t qclass,
                    uint8_t key_flags) const noexcept;
  Shard& shard_for(uint64_t hash) { return shards_[hash >> 59]; }  // top 5 bits: 32 shards
  static void remove_slot(Shard& s, uint32_t slot);
  void make_room(Shard& s, size_t need);

  CacheOptions opts_;  // max_entry_bytes; the rest is below, live
  std::atomic<size_t> max_bytes_{0};
  std::atomic<uint32_t> min_ttl_{0};
  std::atomic<uint32_t> max_ttl_{0};
  std::atomic<uint32_t> max_negative_ttl_{0};
  std::atomic<uint64_t> stale_ms_{0};
  uint64_t secret_ = 0;
  std::array<Shard, kShards> shards_;
};

}  // namespace sinkhole::cache
