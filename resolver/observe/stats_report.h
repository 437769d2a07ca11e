// SPDX-License-Identifier: MIT
// What `sinkholectl stats` shows, as text for people or as JSON: the workers' counters
// summed, blocked and monitored queries by policy, list, category and action, protected
// users by category, and the packet cache. Read from ServerState; called on the control
// thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "resolver/observe/server_state.h"

namespace sinkhole::observe {

std::string stats_text(const ServerState& s, int64_t now_unix);
nlohmann::ordered_json stats_json(const ServerState& s, int64_t now_unix);

}  // namespace sinkhole::observe
