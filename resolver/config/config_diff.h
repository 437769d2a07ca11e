// SPDX-License-Identifier: MIT
// Which settings differ between two Configs, named as dotted key paths of the file
// (`server.listen`, `upstream.timeout`, `upstreams` for the top-level server list).
//
// A reload applies every LIVE setting at once (resolver/control/reloader.h,
// resolver/pipeline/live_settings.h); a RESTART-REQUIRED setting (the listen sockets, the
// worker count, buffers and tables sized at start, the metrics and control listeners) is
// only named: restart_required_changes() compares the Config the process started with
// against the one just loaded, so the list stays non-empty across later reloads for as
// long as the file still differs from what the process runs with. live_changes() names
// the live settings a reload changed, for its log line.
// Pure functions; any thread.
#pragma once

#include <string>
#include <vector>

#include "resolver/config/config.h"

namespace sinkhole::config {

// The restart-required keys whose values differ, in file order.
std::vector<std::string> restart_required_changes(const Config& serving, const Config& next);
// The live keys whose values differ, in file order.
std::vector<std::string> live_changes(const Config& serving, const Config& next);

// Copies every restart-required setting of `running` into `next`: the settings a reload
// applies are then exactly those in force (restart_required_changes(running, next) is
// empty afterwards), so no worker half-applies a key that needs a restart.
void keep_restart_settings(Config& next, const Config& running);

// "a, b, c" (empty for none).
std::string join_keys(const std::vector<std::string>& keys);

}  // namespace sinkhole::config
