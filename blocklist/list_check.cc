// SPDX-License-Identifier: MIT
#include "blocklist/list_check.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <chrono>

#include "blocklist/list_reader.h"
#include "blocklist/matcher.h"

namespace sinkhole::blocklist {

CheckStatus check_lists(const std::vector<std::string>& paths, const Format* format,
                        std::ostream& out) {
  CheckStatus worst = CheckStatus::kClean;
  for (const auto& path : paths) {
    const auto t0 = std::chrono::steady_clock::now();
    FormatChoice chosen;
    const ParsedList list = read_list_file(path, format, nullptr, &chosen);
    const Format f = chosen.format;
    MatcherBuilder builder;
    builder.add(list);
    const auto built = builder.build();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const bool unreadable = !list.stats.rejects.empty() && list.stats.rejects.front().line == 0;
    const size_t rejected = list.stats.rejects.size() + built.pattern_errors.size();
    fmt::print(out,
               "{} ({}): {} entries, {} rules, {} duplicates, {} rejected, {} lines, {:.3f} s\n",
               path, to_string(f), list.stats.entries, list.stats.rules, list.stats.duplicates,
               rejected, list.stats.lines, secs);
    if (!list.ip_triggers.empty()) {
      const auto clients = std::count_if(
          list.ip_triggers.begin(), list.ip_triggers.end(),
          [](const IpTriggerEntry& e) { return e.where == IpTriggerEntry::Where::kClient; });
      fmt::print(out, "  rpz IP triggers: {} rpz-client-ip, {} rpz-ip\n", clients,
                 list.ip_triggers.size() - static_cast<size_t>(clients));
    }
    if (chosen.basis != FormatBasis::kConfigured)
      fmt::print(out, "  format: {}\n", describe(chosen));
    for (const auto& [reason, count] : list.stats.skipped)
      fmt::print(out, "  skipped {}: {}\n", reason, count);
    for (const auto& r : list.stats.rejects) fmt::print(out, "{}:{}: {}\n", path, r.line, r.reason);
    for (const auto& e : built.pattern_errors) fmt::print(out, "{}\n", e.to_string());

    const CheckStatus status = unreadable     ? CheckStatus::kUnreadable
                               : rejected > 0 ? CheckStatus::kRejects
                                              : CheckStatus::kClean;
    worst = std::max(worst, status);
  }
  return worst;
}

}  // namespace sinkhole::blocklist
