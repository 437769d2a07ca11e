// SPDX-License-Identifier: MIT
// GET /protected-users/sketches: this node's protected-user sketches, per category and
// window, as the document of resolver/metrics/sketch_document.h (docs/FLEET-SKETCHES.md),
// for sinkholectl fleet-report to merge with the other nodes'. It carries register maxima
// and estimates only: no address, no hash value.
// The metrics HTTP thread (or a test): reads the sketches with relaxed loads
// (ProtectedUsers::window_registers), never a lock a worker takes. Size: at most
// 64 categories × 2 windows × ~22 KB of base64.
#pragma once

#include <cstdint>
#include <string>

#include "resolver/metrics/sketch_document.h"
#include "resolver/observe/server_state.h"

namespace sinkhole::observe {

// The node name exported: server.identity when set, else the host name.
std::string sketch_node_name(const ServerState& s);

metrics::SketchDocument sketch_document(const ServerState& s, int64_t now_unix);

// The JSON body (one line).
std::string render_sketches(const ServerState& s);

}  // namespace sinkhole::observe
