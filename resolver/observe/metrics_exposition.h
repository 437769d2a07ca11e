// SPDX-License-Identifier: MIT
// The /metrics page: every family of metrics/catalogue.h, filled from the server's state
// and summed over workers at scrape time. Runs on the HTTP thread; reads only atomics and
// structures guarded by locks that workers never take.
#pragma once

#include <string>

#include "resolver/observe/server_state.h"

namespace sinkhole::observe {

std::string render_metrics(const ServerState& s);

}  // namespace sinkhole::observe
