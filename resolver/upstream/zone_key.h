// SPDX-License-Identifier: MIT
// zone_key: where the "zone" of a query name starts, for the per-zone share of the
// in-flight limit (inflight_table.h). Without a zone cut (sinkholed forwards; it never
// learns delegations) the zone is approximated by the registrable-looking suffix:
//
//   the last two labels            www.example.com     → example.com
//   the last three, when the TLD   a.b.shop.com.vn     → shop.com.vn
//   has two letters (a ccTLD) and  news.bbc.co.uk      → bbc.co.uk
//   the label before it is a       x.y.com.au          → y.com.au
//   short generic second level
//   (kSecondLevels in zone_key.cc)
//   the whole name, when it has    vn, com.vn          → itself
//   no more labels than that
//
// A wrong guess only makes a zone coarser (two registrants share one budget) or finer
// (one registrant gets several); the worker-wide limit still bounds the total. An
// attacker's random labels always sit below the registrable name, so they stay in its
// zone. Pure; any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sinkhole::upstream {

// Offset in `name` (uncompressed wire format, lower-cased, `len` bytes including the root
// label) at which its zone starts; 0 when the name is its own zone.
size_t zone_offset(const uint8_t* name, size_t len) noexcept;

}  // namespace sinkhole::upstream
