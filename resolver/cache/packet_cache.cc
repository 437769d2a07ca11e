// SPDX-License-Identifier: MIT
#include "resolver/cache/packet_cache.h"

#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <tuple>

#include "absl/hash/hash.h"
#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"
#include "resolver/dns/wire.h"

namespace sinkhole::cache {

namespace {

static_assert(PacketCache::kShards == 32, "shard_for() takes the top 5 hash bits");

constexpr size_t kSoaFixedTail = 20;  // serial, refresh, retry, expire, minimum

uint64_t random_secret() {
  uint64_t v = 0;
  size_t got = 0;
  auto* p = reinterpret_cast<uint8_t*>(&v);
  while (got < sizeof v) {
    const ssize_t n = getrandom(p + got, sizeof v - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return v;
}

uint8_t key_flags_of(const dns::QuestionKey& k) {
  return k.flag_bits();
}

// The MINIMUM field of a SOA rdata: the last 4 bytes, after two (possibly compressed) names.
bool soa_minimum(const uint8_t* msg, size_t len, const dns::RecordSpan& r, uint32_t* out) {
  const size_t rdata_end = r.rdata_off + r.rdlen;
  const dns::NameWalk mname = dns::walk_name(msg, len, r.rdata_off, true);
  if (mname.error != dns::NameError::kNone || mname.end > rdata_end) return false;
  const dns::NameWalk rname = dns::walk_name(msg, len, mname.end, true);
  if (rname.error != dns::NameError::kNone || rname.end + kSoaFixedTail != rdata_end) {
    return false;
  }
  *out = dns::read_u32(msg + rdata_end - 4);
  return true;
}

}  // namespace

size_t PacketCache::Entry::charge() const {
  return kEntryOverhead + name_len + 2 * size_t{ttl_count} + wire_len;
}

PacketCache::PacketCache(const CacheOptions& opts) : opts_(opts), secret_(random_secret()) {
  reconfigure(opts);
}

void PacketCache::reconfigure(const CacheOptions& o) {
  min_ttl_.store(o.min_ttl, std::memory_order_relaxed);
  max_ttl_.store(o.max_ttl, std::memory_order_relaxed);
  max_negative_ttl_.store(o.max_negative_ttl, std::memory_order_relaxed);
  stale_ms_.store(o.stale_ms, std::memory_order_relaxed);
  max_bytes_.store(o.max_bytes, std::memory_order_relaxed);
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    s.budget.store(o.max_bytes / kShards, std::memory_order_relaxed);
    make_room(s, 0);  // a smaller bound evicts at once (0: everything)
  }
}

CacheOptions PacketCache::options() const {
  CacheOptions o = opts_;
  o.max_bytes = max_bytes_.load(std::memory_order_relaxed);
  o.min_ttl = min_ttl_.load(std::memory_order_relaxed);
  o.max_ttl = max_ttl_.load(std::memory_order_relaxed);
  o.max_negative_ttl = max_negative_ttl_.load(std::memory_order_relaxed);
  o.stale_ms = stale_ms_.load(std::memory_order_relaxed);
  return o;
}

uint64_t PacketCache::hash_key(const uint8_t* lower_name, size_t len, uint16_t qtype,
                               uint16_t qclass, uint8_t key_flags) const noexcept {
  const std::string_view name(reinterpret_cast<const char*>(lower_name), len);
  return absl::HashOf(secret_, name, qtype, qclass, key_flags);
}

void PacketCache::remove_slot(Shard& s, uint32_t slot) {
  Entry& e = s.slots[slot];
  s.bytes -= e.charge();
  s.index.erase(e.hash);
  e = Entry{};
  s.free_slots.push_back(slot);
}

// CLOCK: clear a set referenced bit and move on; evict the first entry found clear. Two
// sweeps clear every bit, so the loop ends.
void PacketCache::make_room(Shard& s, size_t need) {
  size_t steps = 2 * s.slots.size() + 1;
  const size_t budget = s.budget.load(std::memory_order_relaxed);
  while (s.bytes + need > budget && !s.index.empty() && steps-- > 0) {
    if (s.hand >= s.slots.size()) s.hand = 0;
    Entry& e = s.slots[s.hand];
    if (e.blob) {
      if (e.referenced) {
        e.referenced = false;
      } else {
        remove_slot(s, static_cast<uint32_t>(s.hand));
        s.evictions.fetch_add(1, std::memory_order_relaxed);
      }
    }
    ++s.hand;
  }
}

InsertResult PacketCache::insert(const dns::QuestionKey& key, const uint8_t* resp,
                                 const dns::MessageView& m, uint64_t now_ms) {
  if (!m.ok || !(m.flags & dns::flags::kQr) || !m.opt_is_last() || key.qname == nullptr ||
      key.qname_len == 0 || key.qname_len > dns::kMaxNameWire) {
    return InsertResult::kMalformed;
  }
  if (m.qname_len != key.qname_len || m.qtype != key.qtype || m.qclass != key.qclass ||
      !dns::wire_names_equal_ci(resp + dns::kHeaderSize, key.qname, key.qname_len)) {
    return InsertResult::kWrongQuestion;
  }
  const uint16_t rcode = m.rcode();
  if (rcode != static_cast<uint16_t>(dns::Rcode::kNoError) &&
      rcode != static_cast<uint16_t>(dns::Rcode::kNxDomain)) {
    return InsertResult::kRcode;
  }
  if (m.truncated()) return InsertResult::kTruncated;
  const size_t records = size_t{m.ancount} + m.nscount + m.arcount;
  if (m.end > opts_.max_entry_bytes || m.end > dns::kMaxMessage || records > kMaxTtlFields) {
    return InsertResult::kTooBig;
  }

  // One walk: TTL offsets (OPT's TTL is flags, not a TTL), the minimum over answer and
  // authority, and the authority SOA for negative answers.
  const bool negative = rcode == static_cast<uint16_t>(dns::Rcode::kNxDomain) || m.ancount == 0;
  uint16_t offsets[kMaxTtlFields];
  size_t count = 0;
  uint32_t min_ttl = UINT32_MAX;
  bool have_soa = false;
  uint32_t soa_ttl = UINT32_MAX;
  size_t pos = m.question_end;
  for (size_t i = 0; i < records; ++i) {
    const dns::RecordSpan r = dns::skip_record(resp, m.end, pos);
    if (r.end == 0) return InsertResult::kMalformed;
    const bool in_answer = i < m.ancount;
    const bool in_authority = !in_answer && i < size_t{m.ancount} + m.nscount;
    if (r.type != dns::rrtype::kOpt) offsets[count++] = static_cast<uint16_t>(r.ttl_off);
    if (negative) {
      if (in_answer) min_ttl = std::min(min_ttl, r.ttl);
      uint32_t minimum = 0;
      if (in_authority && r.type == dns::rrtype::kSoa && !have_soa &&
          soa_minimum(resp, m.end, r, &minimum)) {
        have_soa = true;
        soa_ttl = std::min(r.ttl, minimum);
      }
    } else if (in_answer || in_authority) {
      min_ttl = std::min(min_ttl, r.ttl);
    }
    pos = r.end;
  }
  if (negative) {
    if (!have_soa) return InsertResult::kNoSoa;
    min_ttl = std::min(min_ttl, soa_ttl);
  }
  // RFC 2181 §8: a TTL with the top bit set is read as 0.
  if (min_ttl > 0x7FFFFFFF) min_ttl = 0;
  const uint32_t cap = negative ? max_negative_ttl_.load(std::memory_order_relaxed)
                                : max_ttl_.load(std::memory_order_relaxed);
  const uint32_t clamped = std::min(min_ttl, cap);
  const uint32_t entry_ttl =
      std::min(std::max(clamped, min_ttl_.load(std::memory_order_relaxed)), cap);
  // Record TTLs are lowered to the cap, and for negative answers to min(SOA TTL, MINIMUM)
  // (RFC 2308 §3), so no client is told to keep a record longer than we would.
  const uint32_t record_ttl = negative ? clamped : cap;
  if (entry_ttl == 0) return InsertResult::kZeroTtl;

  Entry e;
  e.name_len = static_cast<uint8_t>(key.qname_len);
  e.ttl_count = static_cast<uint16_t>(count);
  e.wire_len = static_cast<uint16_t>(m.end);
  e.qtype = key.qtype;
  e.qclass = key.qclass;
  e.key_flags = key_flags_of(key);
  e.insert_ms = now_ms;
  e.ttl_s = entry_ttl;
  const size_t charge = e.charge();
  Shard* probe = nullptr;
  {
    // Build the blob before taking the lock: the allocation happens outside it.
    const size_t blob_len = charge - kEntryOverhead;
    e.blob.reset(new uint8_t[blob_len]);
    uint8_t* p = e.blob.get();
    dns::lower_name(key.qname, key.qname_len, p);
    std::memcpy(p + e.name_len, offsets, 2 * count);
    uint8_t* wire = p + e.name_len + 2 * count;
    std::memcpy(wire, resp, m.end);
    for (size_t i = 0; i < count; ++i) {
      const uint32_t t = dns::read_u32(wire + offsets[i]);
      if (t > record_ttl) dns::write_u32(wire + offsets[i], record_ttl);
    }
    e.hash = hash_key(p, e.name_len, e.qtype, e.qclass, e.key_flags);
    probe = &shard_for(e.hash);
  }
  Shard& s = *probe;
  if (charge > s.budget.load(std::memory_order_relaxed)) return InsertResult::kTooBig;

  std::lock_guard<std::mutex> lock(s.mu);
  // Same key, or another key with the same 64-bit hash: either way the new answer wins.
  if (auto it = s.index.find(e.hash); it != s.index.end()) remove_slot(s, it->second);
  make_room(s, charge);
  if (s.bytes + charge > s.budget.load(std::memory_order_relaxed)) return InsertResult::kTooBig;
  uint32_t slot;
  if (!s.free_slots.empty()) {
    slot = s.free_slots.back();
    s.free_slots.pop_back();
  } else {
    slot = static_cast<uint32_t>(s.slots.size());
    s.slots.emplace_back();
    // remove_slot() pushes here; reserving now keeps it from allocating inside get().
    s.free_slots.reserve(s.slots.capacity());
  }
  const uint64_t hash = e.hash;
  s.slots[slot] = std::move(e);
  s.index.emplace(hash, slot);
  s.bytes += charge;
  s.inserts.fetch_add(1, std::memory_order_relaxed);
  return InsertResult::kInserted;
}

Lookup PacketCache::get(const dns::QuestionKey& key, uint64_t now_ms, uint8_t* out,
                        size_t out_cap) noexcept {
  return lookup(key, now_ms, out, out_cap, /*allow_stale=*/false);
}

Lookup PacketCache::get_stale(const dns::QuestionKey& key, uint64_t now_ms, uint8_t* out,
                              size_t out_cap) noexcept {
  return lookup(key, now_ms, out, out_cap, /*allow_stale=*/true);
}

Lookup PacketCache::lookup(const dns::QuestionKey& key, uint64_t now_ms, uint8_t* out,
                           size_t out_cap, bool allow_stale) noexcept {
  Lookup res;
  if (key.qname == nullptr || key.qname_len == 0 || key.qname_len > dns::kMaxNameWire) {
    return res;
  }
  uint8_t name[dns::kMaxNameWire];
  dns::lower_name(key.qname, key.qname_len, name);
  const uint8_t kf = key_flags_of(key);
  const uint64_t hash = hash_key(name, key.qname_len, key.qtype, key.qclass, kf);
  Shard& s = shard_for(hash);

  uint16_t offsets[kMaxTtlFields];
  size_t count = 0;
  uint64_t insert_ms = 0;
  uint32_t ttl_s = 0;
  {
    std::unique_lock<std::mutex> lock(s.mu, std::try_to_lock);
    if (!lock.owns_lock()) {
      s.contended.fetch_add(1, std::memory_order_relaxed);
      s.misses.fetch_add(1, std::memory_order_relaxed);
      return res;
    }
    const auto it = s.index.find(hash);
    if (it == s.index.end()) {
      s.misses.fetch_add(1, std::memory_order_relaxed);
      return res;
    }
    Entry& e = s.slots[it->second];
    // The full key, not the hash, decides: a collision is a miss.
    if (e.name_len != key.qname_len || e.qtype != key.qtype || e.qclass != key.qclass ||
        e.key_flags != kf || std::memcmp(e.blob.get(), name, key.qname_len) != 0) {
      s.misses.fetch_add(1, std::memory_order_relaxed);
      return res;
    }
    const uint64_t expiry_ms = e.insert_ms + uint64_t{e.ttl_s} * 1000;
    if (now_ms >= expiry_ms) {
      const uint64_t stale_ms = stale_ms_.load(std::memory_order_relaxed);
      if (now_ms >= expiry_ms + stale_ms) {
        remove_slot(s, it->second);  // beyond any use; free it now
      }
      if (!allow_stale || now_ms >= expiry_ms + stale_ms) {
        s.misses.fetch_add(1, std::memory_order_relaxed);
        return res;
      }
      res.status = LookupStatus::kStale;
    } else {
      res.status = LookupStatus::kHit;
    }
    if (e.wire_len > out_cap) {
      s.misses.fetch_add(1, std::memory_order_relaxed);
      return Lookup{};
    }
    std::memcpy(out, e.wire(), e.wire_len);
    count = e.ttl_count;
    std::memcpy(offsets, e.blob.get() + e.name_len, 2 * count);
    res.size = e.wire_len;
    insert_ms = e.insert_ms;
    ttl_s = e.ttl_s;
    e.referenced = true;
    (res.status == LookupStatus::kHit ? s.hits : s.stale_hits)
        .fetch_add(1, std::memory_order_relaxed);
  }

  // Unlocked: age the copy.
  if (res.status == LookupStatus::kStale) {
    for (size_t i = 0; i < count; ++i) dns::write_u32(out + offsets[i], kStaleTtl);
    res.ttl = kStaleTtl;
    return res;
  }
  const uint64_t elapsed_s = now_ms > insert_ms ? (now_ms - insert_ms) / 1000 : 0;
  res.ttl = static_cast<uint32_t>(ttl_s - elapsed_s);  // now < expiry, so elapsed < ttl
  if (elapsed_s == 0) return res;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t t = dns::read_u32(out + offsets[i]);
    dns::write_u32(out + offsets[i], t > elapsed_s ? static_cast<uint32_t>(t - elapsed_s) : 0);
  }
  return res;
}

void PacketCache::flush() {
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    s.index.clear();
    s.slots.clear();
    s.free_slots.clear();
    s.hand = 0;
    s.bytes = 0;
  }
}

size_t PacketCache::flush(const uint8_t* qname, size_t qname_len) {
  if (qname == nullptr || qname_len == 0 || qname_len > dns::kMaxNameWire) return 0;
  size_t removed = 0;
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    for (uint32_t i = 0; i < s.slots.size(); ++i) {
      const Entry& e = s.slots[i];
      if (e.blob && e.name_len == qname_len &&
          dns::wire_names_equal_ci(e.blob.get(), qname, qname_len)) {
        remove_slot(s, i);
        ++removed;
      }
    }
  }
  return removed;
}

CacheStats PacketCache::stats() const {
  CacheStats st;
  for (const Shard& s : shards_) {
    {
      std::lock_guard<std::mutex> lock(s.mu);
      st.entries += s.index.size();
      st.bytes += s.bytes;
    }
    st.hits += s.hits.load(std::memory_order_relaxed);
    st.stale_hits += s.stale_hits.load(std::memory_order_relaxed);
    st.misses += s.misses.load(std::memory_order_relaxed);
    st.contended += s.contended.load(std::memory_order_relaxed);
    st.inserts += s.inserts.load(std::memory_order_relaxed);
    st.evictions += s.evictions.load(std::memory_order_relaxed);
  }
  return st;
}

}  // namespace sinkhole::cache
