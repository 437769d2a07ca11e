// SPDX-License-Identifier: MIT
#include "resolver/metrics/catalogue.h"

#include <algorithm>

namespace sinkhole::metrics::catalogue {

const CounterGroup* counter_group(std::string_view name) {
  if (std::find(std::begin(kUngroupedCounters), std::end(kUngroupedCounters), name) !=
      std::end(kUngroupedCounters))
    return nullptr;
  for (const auto& g : kCounterGroups)
    if (name.substr(0, g.prefix.size()) == g.prefix) return &g;
  return nullptr;
}

std::string counter_family_name(std::string_view name) {
  if (name == "blocked") return "sinkholed_blocked_queries_total";
  if (name == "monitored") return "sinkholed_monitored_queries_total";
  return "sinkholed_" + std::string(name) + "_total";
}

std::span<const Family* const> families() {
  static const Family* const kAll[] = {
      &kQueriesByType,
      &kBlocked,
      &kMonitored,
      &kProtectedUsers,
      &kCacheEntries,
      &kCacheBytes,
      &kCacheMaxBytes,
      &kCacheInserts,
      &kCacheEvictions,
      &kUpstreamAttempts,
      &kUpstreamTimeouts,
      &kUpstreamFailures,
      &kUpstreamUp,
      &kUpstreamLatency,
      &kReloads,
      &kReloadFailures,
      &kReloadDuration,
      &kLastReload,
      &kLastReloadOk,
      &kListReloadFailures,
      &kRestartRequired,
      &kRestartRequiredKeys,
      &kGeneration,
      &kListEntries,
      &kListRejected,
      &kListAge,
      &kListLoaded,
      &kListExemptedNames,
      &kListSerial,
      &kListLastSuccess,
      &kListTimeToEnforce,
      &kListFetches,
      &kFeedTransferFailures,
      &kWorkers,
      &kStartTime,
      &kBuildInfo,
  };
  return kAll;
}

}  // namespace sinkhole::metrics::catalogue
