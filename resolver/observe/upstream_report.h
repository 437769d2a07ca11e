// SPDX-License-Identifier: MIT
// What `sinkholectl upstreams` shows, and the upstream section of `sinkholectl status`:
// per upstream its address, state (up/down, since when), smoothed RTT, queries, answers,
// timeouts, errors and the last error with its age. Read from the HealthMonitor (as of its
// last tick, at most a second old). Control thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "resolver/observe/server_state.h"

namespace sinkhole::observe {

std::string upstreams_text(const ServerState& s, int64_t now_unix);
nlohmann::ordered_json upstreams_json(const ServerState& s, int64_t now_unix);

}  // namespace sinkhole::observe
