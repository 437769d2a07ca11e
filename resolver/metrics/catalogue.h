// SPDX-License-Identifier: MIT
// The catalogue: every metric family sinkholed exposes, declared once with its name, type
// and help. Scalar per-worker counters come from the counter table in worker_counters.cc
// and are exported by group (counter_family below): `queries_udp` becomes
// sinkholed_queries_total{transport="udp"}, `answers_nxdomain` sinkholed_answers_total
// {rcode="nxdomain"}, and a counter in no group sinkholed_<name>_total with its own help.
// Everything else (labels that are not counters of the table, gauges, histograms) is a
// Family here; the exposition code (resolver/observe/metrics_exposition.cc) fills them.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "resolver/metrics/prometheus_text.h"
#include "resolver/metrics/worker_counters.h"

namespace sinkhole::metrics::catalogue {

using T = MetricType;

// Groups of table counters: a name prefix, the family, and the label the rest becomes.
struct CounterGroup {
  std::string_view prefix;
  Family family;
  std::string_view label;
};
inline constexpr CounterGroup kCounterGroups[] = {
    {"queries_",
     {"sinkholed_queries_total", T::kCounter, "Queries received, by transport"},
     "transport"},
    {"answers_",
     {"sinkholed_answers_total", T::kCounter,
      "Answers sent, by rcode (blocked, cached, forwarded and local answers alike)"},
     "rcode"},
    {"dropped_",
     {"sinkholed_dropped_total", T::kCounter,
      "Packets dropped without an answer, by reason (short_header, qr_set, oversize, acl)"},
     "reason"},
    {"malformed_",
     {"sinkholed_malformed_total", T::kCounter,
      "Malformed queries answered FORMERR/NOTIMP/BADVERS, by reason"},
     "reason"},
    {"refused_",
     {"sinkholed_refused_total", T::kCounter,
      "Queries answered REFUSED by sinkholed itself, by reason (zone_transfer, chaos, class, "
      "no_policy, acl)"},
     "reason"},
    {"upstream_limit_",
     {"sinkholed_upstream_limited_total", T::kCounter,
      "Questions answered stale or SERVFAIL without asking an upstream, by the in-flight limit "
      "reached (worker, zone, upstream)"},
     "reason"},
    {"rate_limited_",
     {"sinkholed_rate_limited_total", T::kCounter,
      "UDP responses over the response rate limit, by outcome (dropped, slipped: sent TC=1)"},
     "outcome"},
};
// answers_truncated is not an rcode: it keeps a family of its own.
// queries_proxied is a subset of queries_{udp,tcp}, not a transport of its own.
inline constexpr std::string_view kUngroupedCounters[] = {"answers_truncated", "queries_proxied"};

// The group of a table counter, or nullptr (then: counter_family_name).
const CounterGroup* counter_group(std::string_view counter_name);
// The family name of a table counter in no group: sinkholed_<name>_total, except where
// that would clash with a labelled family (`blocked` → sinkholed_blocked_queries_total,
// the total beside sinkholed_blocked_total{policy,list,category,action}; `monitored` →
// sinkholed_monitored_queries_total beside sinkholed_monitored_total{...}).
std::string counter_family_name(std::string_view counter_name);

inline constexpr Family kQueriesByType{"sinkholed_queries_by_type_total", T::kCounter,
                                       "Queries received, by query type (other = any type not "
                                       "listed)"};
inline constexpr Family kBlocked{"sinkholed_blocked_total", T::kCounter,
                                 "Queries blocked, by the client's policy, list, category and "
                                 "action (includes blocks found in a CNAME chain)"};
inline constexpr Family kMonitored{
    "sinkholed_monitored_total", T::kCounter,
    "Queries a passthru (monitor-mode) rule matched, answered normally, by the client's policy, "
    "list, category and action"};
inline constexpr Family kProtectedUsers{
    "sinkholed_protected_users", T::kGauge,
    "Distinct client addresses with at least one blocked query in the window, per category. "
    "HyperLogLog estimate, about 0.8% standard error; addresses are never stored"};
inline constexpr Family kCacheEntries{"sinkholed_cache_entries", T::kGauge,
                                      "Answers held in the packet cache"};
inline constexpr Family kCacheBytes{"sinkholed_cache_bytes", T::kGauge,
                                    "Bytes charged to the packet cache (entries + overhead)"};
inline constexpr Family kCacheMaxBytes{"sinkholed_cache_max_bytes", T::kGauge,
                                       "cache.max_bytes: the cache's memory bound"};
inline constexpr Family kCacheInserts{"sinkholed_cache_inserts_total", T::kCounter,
                                      "Answers stored in the packet cache"};
inline constexpr Family kCacheEvictions{"sinkholed_cache_evictions_total", T::kCounter,
                                        "Answers evicted to stay within cache.max_bytes"};
inline constexpr Family kUpstreamAttempts{
    "sinkholed_upstream_attempts_total", T::kCounter,
    "Queries sent to each upstream (every attempt, UDP and TCP)"};
inline constexpr Family kUpstreamTimeouts{"sinkholed_upstream_attempt_timeouts_total", T::kCounter,
                                          "Attempts at each upstream that timed out"};
inline constexpr Family kUpstreamFailures{
    "sinkholed_upstream_attempt_failures_total", T::kCounter,
    "Attempts at each upstream that failed: socket errors, bad replies, SERVFAIL/REFUSED"};
inline constexpr Family kUpstreamLatency{
    "sinkholed_upstream_latency_seconds", T::kHistogram,
    "Time from sending an attempt to an upstream to its accepted reply"};
inline constexpr Family kReloads{"sinkholed_reloads_total", T::kCounter,
                                 "Successful policy reloads (SIGHUP, sinkholectl, file watch)"};
inline constexpr Family kReloadFailures{"sinkholed_reload_failures_total", T::kCounter,
                                        "Failed reloads (the previous policy kept serving)"};
inline constexpr Family kReloadDuration{"sinkholed_reload_duration_seconds", T::kGauge,
                                        "Duration of the last successful policy build"};
inline constexpr Family kLastReload{"sinkholed_last_reload_success_timestamp_seconds", T::kGauge,
                                    "Unix time of the last successful policy build (start-up "
                                    "included)"};
inline constexpr Family kLastReloadOk{"sinkholed_last_reload_ok", T::kGauge,
                                      "1 when the last reload succeeded (or none failed yet)"};
inline constexpr Family kListReloadFailures{
    "sinkholed_list_reload_failures_total", T::kCounter,
    "Reloads (and the start) a list failed, by list and reason (empty, reject_ratio, shrink, "
    "max_entries, not_regular_file, unreadable, out_of_memory, error)"};
inline constexpr Family kRestartRequired{
    "sinkholed_restart_required", T::kGauge,
    "1 when the configuration file changes a setting only a restart applies (see "
    "sinkholed_restart_required_keys); reloads apply every other setting"};
inline constexpr Family kRestartRequiredKeys{
    "sinkholed_restart_required_keys", T::kGauge,
    "1 for each setting (dotted key) whose new value waits for a restart"};
inline constexpr Family kGeneration{"sinkholed_snapshot_generation", T::kGauge,
                                    "Generation of the policy snapshot in service"};
inline constexpr Family kListEntries{"sinkholed_list_entries", T::kGauge,
                                     "Distinct names and patterns of each list in service"};
inline constexpr Family kListRejected{"sinkholed_list_rejected_lines", T::kGauge,
                                      "Lines of each list that could not be read as a rule"};
inline constexpr Family kListAge{"sinkholed_list_age_seconds", T::kGauge,
                                 "Seconds since each list file was last modified"};
inline constexpr Family kListLoaded{"sinkholed_list_loaded_timestamp_seconds", T::kGauge,
                                    "Unix time each list in service was read"};
inline constexpr Family kListExemptedNames{
    "sinkholed_list_exempted_names", T::kGauge,
    "Names of each list lifted by an exception list named in its exceptions key (by list, "
    "exception list, and whether the list is mandatory)"};
inline constexpr Family kListSerial{"sinkholed_list_serial", T::kGauge,
                                    "SOA serial of each RPZ list's copy serving, when known"};
inline constexpr Family kListLastSuccess{
    "sinkholed_list_last_success_timestamp_seconds", T::kGauge,
    "Unix time each list's source last gave the copy serving (a feed's fetch, a file's reload)"};
inline constexpr Family kListTimeToEnforce{
    "sinkholed_list_time_to_enforce_seconds", T::kGauge,
    "For each list's last change: seconds from the change being seen (NOTIFY, new ETag, push, a "
    "reload asked for) to the generation holding it serving"};
inline constexpr Family kListFetches{
    "sinkholed_list_fetches_total", T::kCounter,
    "Downloads of each HTTP-sourced list by outcome: downloaded (new content offered to a "
    "build), not_modified (304, or the bytes already serving), failed (HTTP error, DNS, TLS, "
    "timeout, over max_bytes)"};
// RPZ secondary (resolver/feeds/rpz_feed.cc), from FeedStatus.
inline constexpr Family kFeedTransferFailures{
    "sinkholed_feed_transfer_failures_total", T::kCounter,
    "Failed zone transfers of an RPZ feed list, by list and reason (tsig, timeout, truncated, "
    "inconsistent, refused, network, too_big, malformed, store); the copy serving stays"};
inline constexpr Family kWorkers{"sinkholed_workers", T::kGauge, "Worker threads serving"};
inline constexpr Family kStartTime{"sinkholed_start_time_seconds", T::kGauge,
                                   "Unix time the server started"};
inline constexpr Family kBuildInfo{"sinkholed_build_info", T::kGauge,
                                   "Always 1; the version label says which build runs"};

// Every Family above, for tests and for the dashboard check.
std::span<const Family* const> families();

}  // namespace sinkhole::metrics::catalogue
