// SPDX-License-Identifier: MIT
// Reader for RPZ policy zones in master-file syntax (as BIND, Unbound and Knot load them),
// read one record at a time so that a bad record is a reject at its line and the rest of the
// zone still loads (ldns_zone_new_frm_fp_l stops at the first error). The common one-line
// forms are read by a fast path (rpz_fast.h), everything else by ldns, with the same result.
//
// Zone origin (the "apex" that owner names are relative to): the first `$ORIGIN` if it comes
// before any record, else the owner of a leading SOA, else kRpzDefaultOrigin. The shared
// lists have no `$ORIGIN` and an `@ SOA`, so they are read relative to kRpzDefaultOrigin,
// which is then stripped from every owner to give the trigger name.
//
// Triggers (the last label of the owner names the kind; RPZ precedence: policy/snapshot.h):
//   name                      QNAME, Scope::kExact
//   *.name                    QNAME, Scope::kSubdomains
//   <len>.<addr>.rpz-client-ip  the query's source address in that prefix: an IpTriggerEntry
//   <len>.<addr>.rpz-ip       an A/AAAA in the upstream's answer in that prefix: likewise
//                             (<len>.<addr>: rpz_ip.h — 32.1.0.0.127, 128.1.zz.1.2001; a bad
//                             encoding is a reject at its line)
//   *.rpz-nsdname, *.rpz-nsip counted in stats.skipped, one per record: they match the
//                             delegation's name servers, which a forwarder never sees
// Actions:
//   CNAME .                ListAction::kNxDomain
//   CNAME *.               ListAction::kNoData
//   CNAME rpz-passthru.    ListAction::kPassthru, RuleKind::kException (also the old form,
//                          a CNAME to the trigger name itself)
//   CNAME rpz-drop.        ListAction::kDrop
//   CNAME rpz-tcp-only.    ListAction::kTcpOnly
//   other CNAME, A, AAAA   ListAction::kLocalData; all records of one trigger are merged into
//                          one entry's `local` (an identical record again is a duplicate)
//   other types            counted as "rpz local data type TXT not yet supported" (etc.)
// SOA and NS at the apex are zone plumbing and not counted; other apex records are skipped as
// "rpz record at the zone apex". A second record for a trigger that asks for a different
// action (or CNAME beside other data) is rejected, naming the line of the first.
#pragma once

#include <string_view>

#include "blocklist/entry.h"

namespace sinkhole::blocklist {

// A reserved name (RFC 6761 .invalid) so it cannot collide with a real trigger.
inline constexpr std::string_view kRpzDefaultOrigin = "rpz.sinkhole.invalid";

// Appends to out.domains, out.ip_triggers and out.stats. Identical triggers with the same
// action are counted in stats.duplicates here, because local data must be merged per trigger
// anyway. `fast_path` false reads every record with ldns (tests and the fuzz target compare both).
// With out.sink set, entries stream to it as they are read, in file order (up to the first
// local-data entry: rpz_policy.h).
void read_rpz(std::string_view text, ParsedList& out, bool fast_path = true);

// Tests and fuzz targets only: the reader hands entries to its sink every 3 entries and
// empties its own index of names at every such flush (rpz_policy.h: normally every 4,096
// entries and 65,536 names), so a small zone takes the paths a 1M-name zone takes.
void rpz_small_chunks_for_testing(bool on);

}  // namespace sinkhole::blocklist
