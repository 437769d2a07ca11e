// SPDX-License-Identifier: MIT
#include "resolver/metrics/worker_counters.h"

namespace sinkhole::metrics {

namespace {
struct Row {
  Counter id;
  CounterInfo info;
};

// The one table of counters. Order must follow the enum (checked below at compile time).
constexpr Row kTable[] = {
    {Counter::kQueriesUdp, {"queries_udp", "Queries received over UDP"}},
    {Counter::kQueriesTcp, {"queries_tcp", "Queries received over TCP"}},
    {Counter::kDropOversize,
     {"dropped_oversize", "UDP datagrams too large to be a query (over 4 KiB), dropped"}},
    {Counter::kDropShortHeader,
     {"dropped_short_header", "Packets shorter than a DNS header, dropped"}},
    {Counter::kDropResponse, {"dropped_qr_set", "Packets with QR=1 (responses), dropped"}},
    {Counter::kNotImp, {"malformed_opcode", "Queries with an opcode other than QUERY (NOTIMP)"}},
    {Counter::kFormErrQdCount, {"malformed_qdcount", "Queries with qdcount != 1 (FORMERR)"}},
    {Counter::kFormErrNamePastEnd,
     {"malformed_name_past_end", "Names running past the packet (FORMERR)"}},
    {Counter::kFormErrBadLabelType,
     {"malformed_bad_label_type", "Label types 0x40/0x80 (FORMERR)"}},
    {Counter::kFormErrPointerLoop,
     {"malformed_pointer_loop", "Compression pointer loops (FORMERR)"}},
    {Counter::kFormErrForwardPointer,
     {"malformed_forward_pointer", "Forward compression pointers (FORMERR)"}},
    {Counter::kFormErrPointerPastEnd,
     {"malformed_pointer_past_end", "Compression pointers past the end (FORMERR)"}},
    {Counter::kFormErrNameTooLong, {"malformed_name_too_long", "Names over 255 octets (FORMERR)"}},
    {Counter::kFormErrShortQuestion,
     {"malformed_short_question", "Questions without qtype/qclass (FORMERR)"}},
    {Counter::kFormErrRecordPastEnd,
     {"malformed_record_past_end", "Record counts larger than the packet (FORMERR)"}},
    {Counter::kFormErrOptNotRoot,
     {"malformed_opt_not_root", "OPT records with a non-root owner (FORMERR)"}},
    {Counter::kFormErrTwoOpt, {"malformed_two_opt", "Queries with two OPT records (FORMERR)"}},
    {Counter::kFormErrOptPastEnd,
     {"malformed_opt_past_end", "OPT rdata or options past the end (FORMERR)"}},
    {Counter::kFormErrPointerHops,
     {"malformed_pointer_hops", "Names following more than 16 compression pointers (FORMERR)"}},
    {Counter::kFormErrAnCount, {"malformed_ancount", "Queries with answer records (FORMERR)"}},
    {Counter::kFormErrNsCount, {"malformed_nscount", "Queries with authority records (FORMERR)"}},
    {Counter::kFormErrArCount,
     {"malformed_arcount", "Queries with more than two additional records (FORMERR)"}},
    {Counter::kFormErrAdditionalType,
     {"malformed_additional_type",
      "Queries with an additional record other than OPT or a last TSIG (FORMERR)"}},
    {Counter::kBadVers, {"malformed_edns_version", "EDNS version above 0 (BADVERS)"}},
    {Counter::kRefusedZoneTransfer, {"refused_zone_transfer", "AXFR/IXFR queries refused"}},
    {Counter::kRefusedChaos, {"refused_chaos", "CHAOS queries refused (not configured)"}},
    {Counter::kAnsweredChaos, {"answered_chaos", "CHAOS identity/version queries answered"}},
    {Counter::kAnsweredAnyRfc8482,
     {"answered_any_rfc8482", "ANY queries answered with RFC 8482 HINFO"}},
    {Counter::kRefusedClass, {"refused_class", "Queries of classes other than IN and CH refused"}},
    {Counter::kFormErrMetaQtype,
     {"malformed_meta_qtype",
      "Queries for qtype 0, OPT or a meta type such as TSIG, TKEY, MAILA, MAILB (FORMERR)"}},
    {Counter::kNotifyAccepted,
     {"notify_accepted", "NOTIFY from an RPZ list's primary accepted (the feed refreshes)"}},
    {Counter::kNotifyRefused,
     {"notify_refused",
      "NOTIFY refused: not from a configured primary of a list of that zone, or a bad TSIG"}},
    {Counter::kRefusedAcl,
     {"refused_acl",
      "Queries from clients outside server.allow_query (or in deny_query), refused"}},
    {Counter::kDropAcl,
     {"dropped_acl",
      "Queries from clients outside server.allow_query (or in deny_query), dropped"}},
    {Counter::kTcpRejectedAcl,
     {"tcp_rejected_acl",
      "TCP connections closed at accept: client outside allow_query (or in deny_query)"}},
    {Counter::kProxyHeaderUntrusted,
     {"proxy_header_untrusted",
      "UDP datagrams and TCP connections with a PROXY v2 header from a source outside "
      "server.proxy_protocol_from, dropped or closed"}},
    {Counter::kProxyHeaderMissing,
     {"proxy_header_missing",
      "UDP datagrams and TCP connections from server.proxy_protocol_from without a PROXY v2 "
      "header, dropped or closed"}},
    {Counter::kProxyHeaderMalformed,
     {"proxy_header_malformed",
      "PROXY v2 headers that are malformed, truncated or of an unsupported version, dropped or "
      "closed"}},
    {Counter::kQueriesProxied,
     {"queries_proxied",
      "Queries that came through a trusted proxy with a valid PROXY v2 header (also counted "
      "in queries_udp/queries_tcp)"}},
    {Counter::kRateLimitedDropped,
     {"rate_limited_dropped", "UDP responses dropped by response rate limiting"}},
    {Counter::kRateLimitedSlipped,
     {"rate_limited_slipped",
      "UDP responses over the rate limit sent as TC=1 (slip) so the client retries over TCP"}},
    {Counter::kRcodeNoError, {"answers_noerror", "Answers sent with NOERROR"}},
    {Counter::kRcodeFormErr, {"answers_formerr", "Answers sent with FORMERR"}},
    {Counter::kRcodeServFail, {"answers_servfail", "Answers sent with SERVFAIL"}},
    {Counter::kRcodeNxDomain, {"answers_nxdomain", "Answers sent with NXDOMAIN"}},
    {Counter::kRcodeNotImp, {"answers_notimp", "Answers sent with NOTIMP"}},
    {Counter::kRcodeRefused, {"answers_refused", "Answers sent with REFUSED"}},
    {Counter::kRcodeOther,
     {"answers_other_rcode", "Answers sent with another rcode (e.g. BADVERS)"}},
    {Counter::kTruncatedUdp, {"answers_truncated", "UDP answers truncated to TC=1"}},
    {Counter::kSendErrors, {"send_errors", "Answers that could not be sent"}},
    {Counter::kUpstreamQueries, {"upstream_queries", "Queries sent to upstreams (each attempt)"}},
    {Counter::kUpstreamCoalesced,
     {"upstream_coalesced", "Client queries joined to an identical in-flight query"}},
    {Counter::kUpstreamTimeouts, {"upstream_timeouts", "Upstream attempts that timed out"}},
    {Counter::kUpstreamErrors,
     {"upstream_errors", "Upstream attempts that failed at the socket (refused, unreachable)"}},
    {Counter::kUpstreamSpoofed,
     {"upstream_spoofed", "Upstream replies ignored: wrong source, ID or question"}},
    {Counter::kUpstreamTcpRetries,
     {"upstream_tcp_retries", "Truncated upstream replies retried over TCP"}},
    {Counter::kUpstreamBadResponses, {"upstream_bad_responses", "Malformed upstream replies"}},
    {Counter::kUpstreamRcodeFailures,
     {"upstream_rcode_failures", "Upstream SERVFAIL/REFUSED replies"}},
    {Counter::kUpstreamAllFailed,
     {"upstream_all_failed", "Client queries answered SERVFAIL because every upstream failed"}},
    {Counter::kCnameChased,
     {"cname_chased",
      "CNAME/DNAME targets asked for to finish an answer the upstream left unfinished (also "
      "for cname redirects and RPZ CNAME rules)"}},
    {Counter::kCnameChaseFailed,
     {"cname_chase_failed",
      "Chains answered SERVFAIL: a loop, more than 8 questions, too big, or out of time"}},
    {Counter::kUpstreamLimitWorker,
     {"upstream_limit_worker",
      "New questions answered stale or SERVFAIL: the worker's in-flight limit "
      "(upstream.max_inflight) was reached"}},
    {Counter::kUpstreamLimitZone,
     {"upstream_limit_zone",
      "New questions answered stale or SERVFAIL: their zone's share of the in-flight limit "
      "(upstream.zone_share) was used up"}},
    {Counter::kUpstreamLimitUpstream,
     {"upstream_limit_upstream",
      "Questions answered stale or SERVFAIL: every usable upstream had "
      "upstream.max_inflight_per_upstream attempts in flight"}},
    {Counter::kUpstreamSocketsOpened,
     {"upstream_sockets_opened",
      "UDP sockets opened towards upstreams (each serves up to upstream.socket_reuse attempts)"}},
    {Counter::kUpstreamLateReplies,
     {"upstream_late_replies",
      "Upstream UDP replies to an attempt already over (it timed out or failed over), "
      "ignored"}},
    {Counter::kTcpConnections, {"tcp_connections", "TCP client connections accepted"}},
    {Counter::kTcpRejectedLimit,
     {"tcp_rejected_limit", "TCP connections closed at once: connection limit reached"}},
    {Counter::kTcpIdleClosed, {"tcp_idle_closed", "TCP connections closed after the idle timeout"}},
    {Counter::kTcpBadLength, {"tcp_bad_length", "TCP frames with a length too short for a header"}},
    {Counter::kTcpRejectedClientLimit,
     {"tcp_rejected_client_limit",
      "TCP connections closed at once: tcp_max_connections_per_client reached for the address"}},
    {Counter::kTcpClosedEvicted,
     {"tcp_closed_evicted",
      "TCP connections closed to make room for a new client (the idlest, at the limit)"}},
    {Counter::kTcpClosedQueryTimeout,
     {"tcp_closed_query_timeout",
      "TCP connections closed: a frame not whole within the query "
      "timeout (slow or trickling client)"}},
    {Counter::kTcpClosedWriteTimeout,
     {"tcp_closed_write_timeout",
      "TCP connections closed: queued answers made no progress within the write timeout"}},
    {Counter::kTcpClosedWriteBound,
     {"tcp_closed_write_bound",
      "TCP connections closed: answers queued for a client that does not read hit the bound"}},
    {Counter::kTcpClosedOversize,
     {"tcp_closed_oversize", "TCP connections closed: a frame longer than tcp_max_query_size"}},
    {Counter::kTcpPaused,
     {"tcp_paused",
      "TCP connections paused (not read) until their queued answers or "
      "queries in flight go down"}},
    {Counter::kTcpAcceptErrors,
     {"tcp_accept_errors",
      "TCP connections that could not be accepted (e.g. out of file "
      "descriptors)"}},
    {Counter::kBlocked, {"blocked", "Queries answered by a block action (all lists)"}},
    {Counter::kBlockedCnameChain,
     {"blocked_cname_chain", "Upstream answers blocked because a CNAME/DNAME target is listed"}},
    {Counter::kBlockedRpzClientIp,
     {"blocked_rpz_client_ip",
      "Queries blocked by an RPZ rpz-client-ip rule (the client's address is listed)"}},
    {Counter::kBlockedRpzIp,
     {"blocked_rpz_ip",
      "Upstream answers blocked by an RPZ rpz-ip rule (an A/AAAA in the answer is listed)"}},
    {Counter::kMonitored,
     {"monitored", "Queries matching a passthru (monitor-mode) rule, allowed"}},
    {Counter::kRefusedNoPolicy,
     {"refused_no_policy", "Queries from clients in no policy group, refused"}},
    {Counter::kCacheHits, {"cache_hits", "Queries answered from the packet cache"}},
    {Counter::kCacheMisses, {"cache_misses", "Allowed queries not in the cache (forwarded)"}},
    {Counter::kCacheStale,
     {"cache_stale_answers", "Stale cache answers sent because every upstream failed (RFC 8767)"}},
    {Counter::kDnstapMessages,
     {"dnstap_messages", "dnstap messages queued for the collector (or file)"}},
    {Counter::kDnstapDropped,
     {"dnstap_dropped", "dnstap messages not logged: queue full or no collector connected"}},
    {Counter::kDnstapLost,
     {"dnstap_lost", "dnstap messages queued, then discarded: the stream failed before writing"}},
};

constexpr bool table_in_enum_order() {
  if (std::size(kTable) != kCounterCount) return false;
  for (size_t i = 0; i < std::size(kTable); ++i)
    if (static_cast<size_t>(kTable[i].id) != i) return false;
  return true;
}
static_assert(table_in_enum_order(), "kTable must list every Counter in enum order");
}  // namespace

const CounterInfo& info(Counter c) {
  return kTable[static_cast<size_t>(c)].info;
}

std::vector<std::pair<std::string, uint64_t>> sum(const std::vector<const WorkerCounters*>& all) {
  std::vector<std::pair<std::string, uint64_t>> out;
  out.reserve(kCounterCount);
  for (const auto& row : kTable) {
    uint64_t total = 0;
    for (const auto* w : all) total += w->get(row.id);
    out.emplace_back(row.info.name, total);
  }
  return out;
}

}  // namespace sinkhole::metrics
