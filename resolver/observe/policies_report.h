// SPDX-License-Identifier: MIT
// What `sinkholectl policies` shows: the policies of the snapshot in service in the order
// they are evaluated — for each, its client CIDRs, its allow lists (checked first) and its
// block rules in order with the action each applies — and what clients in no policy get.
// Text for people, JSON for programs. Pure functions of the snapshot: control thread.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "policy/snapshot.h"

namespace sinkhole::observe {

std::string policies_text(const policy::PolicySnapshot& snap);
nlohmann::ordered_json policies_json(const policy::PolicySnapshot& snap);

}  // namespace sinkhole::observe
