// SPDX-License-Identifier: MIT
// The server side of the command table (command_table.h): one handler per command, which
// reads or acts on the running server and answers with text or JSON, as the request asks.
// The reports themselves (status, stats, lists, explain) are rendered by resolver/observe.
// Control thread only: the control socket calls dispatch() for each request line.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "resolver/config/config.h"
#include "resolver/control/command_table.h"
#include "resolver/control/reloader.h"
#include "resolver/observe/server_state.h"

namespace sinkhole::feeds {
class FeedManager;  // resolver/feeds/feed_manager.h
}  // namespace sinkhole::feeds

namespace sinkhole::control {

// Gets the reply, exactly once; a reload answers only when its build ends.
using Respond = std::function<void(const Reply&)>;

// What the handlers act on.
struct CommandContext {
  const observe::ServerState* state = nullptr;
  // Starts a policy reload (or joins the next one); `done` runs when it ends. `force`:
  // sinkholectl reload --force (Reloader::request).
  std::function<void(bool force, Reloader::Done done)> reload;
  // Starts a feed's build (Reloader::Kind::kFeed: the snapshot serving plus the candidates
  // and the local overrides, no file re-read): push, promote, block, unblock. Unset: reload.
  std::function<void(Reloader::Done done)> feed_build;
  // Wall clock, seconds since the epoch: uptimes and list ages (tests fix it).
  std::function<int64_t()> now_unix;
  // The configuration in service (`config show`); a reload that applies settings may
  // change what it returns.
  std::function<const config::Config&()> config;
  // Feed lists: their copies, status and audit log (resolver/feeds). Null in tests
  // without feeds.
  feeds::FeedManager* feeds = nullptr;
};

// Parses `line` against the table and runs the command's handler; a line that is not a
// valid request gets a failure reply.
void dispatch(const CommandContext& ctx, std::string_view line, const Respond& respond);
// Runs the handler of an already parsed request.
void run_command(const CommandContext& ctx, const Request& request, const Respond& respond);
// Whether the server handles `id` (tests: every row of the table must be handled).
bool has_handler(CommandId id);

}  // namespace sinkhole::control
