// SPDX-License-Identifier: MIT
// The sinkholectl commands that read or act on server state (reload and status live in
// server.cc with the reloader):
//   stats [json]                  counters, blocked by list/category/action, cache
//   lists [json]                  every list in service: format, file, entries, age
//   explain NAME [CLIENT] [json]  why NAME is blocked or allowed (policy/explain.h)
//   cache flush [NAME]            empties the packet cache, or drops every entry of NAME
// Control thread only. Text for people by default, one JSON object with `json`.
#pragma once

#include <string>

#include "resolver/observe/server_state.h"

namespace sinkhole::control {

// Handles `command` when it is one of the above, writing the reply; false if it is not.
// A reply that starts with "error:" is a failure (sinkholectl exits 1).
bool handle_state_command(const observe::ServerState& s, const std::string& command, std::string& reply);

}  // namespace sinkhole::control
