// SPDX-License-Identifier: MIT
// What `sinkholectl status` and `sinkholectl lists` show, as text for people or as JSON,
// and the counters of the SIGUSR1 `stats {...}` log line. Read from ServerState (every
// field safe to read off the worker threads); called on the control thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "resolver/observe/server_state.h"

namespace sinkhole::observe {

using Counters = std::vector<std::pair<std::string, uint64_t>>;

// The workers' counters summed (metrics/worker_counters.h, in table order), then reloads,
// reload_failures and snapshot_generation.
Counters server_counters(const ServerState& s);
// {"queries_udp":1,...}: one member per counter, in order.
nlohmann::ordered_json counters_json(const Counters& counters);

// Uptime, workers, policy generation, reloads (and the last failure), lists, key counters,
// the upstreams (upstream_report.h).
std::string status_text(const ServerState& s, int64_t now_unix);
nlohmann::ordered_json status_json(const ServerState& s, int64_t now_unix);

// "warnings: N" and the first 20 of them, indented; "" when there are none.
std::string warnings_text(const std::vector<std::string>& warnings);

// Every list in service: category, format, entries, rejected lines, age, file; whether it
// is mandatory, its exception lists with the names each lifts, and its legal basis; then
// its freshness (feeds::FeedStatus, every list has one once served): source and origin,
// version (serial, ETag, a file's mtime), last attempt, success and error, the last
// change's time to enforce.
std::string lists_text(const ServerState& s, int64_t now_unix);
nlohmann::ordered_json lists_json(const ServerState& s, int64_t now_unix);

}  // namespace sinkhole::observe
