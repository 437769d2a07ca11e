// SPDX-License-Identifier: MIT
// Updating lists by hand over the control socket — the handlers of `sinkholectl list push`,
// `block` / `unblock`, `list stage` / `diff` / `promote` / `unstage` (command_table.h).
//
//   push     the bytes sinkholectl read become the list's *candidate* copy
//            (resolver/feeds/list_store.h) and a build is started: the candidate meets the
//            list guard and every check of a reload; the reply comes when the build ended —
//            installed (`current`, the old one kept as `previous`) or refused (exit 1; the
//            copy serving stays). A file list keeps its pushed copy until its configured
//            file changes (policy/snapshot_builder.cc); a feed list until the feed's next
//            version.
//   block / unblock  edit the local overrides file (policy/local_overrides.h), then build:
//            the reply comes once the generation holding the change serves.
//   stage    the bytes become the `staged` copy; the build compiles it beside the version
//            serving (ListData::staged), never answering; the policy stage tallies the
//            queries and clients it would block (policy/staged_tally.h). --from-feed (a
//            feed list): the feed's newest version instead — the one it staged already
//            (`updates: stage`), else fetched now and built to stage through the feed's
//            candidate path (FeedManager::stage_from_feed); exit 1 when the source fails or
//            has nothing newer.
//   diff     names added / removed (policy/list_diff.h, read on the control thread) and the
//            tally since staging.
//   promote  the staged copy becomes the candidate: as push. unstage: dropped.
// Every change is one audit line (who "ctl"). Control thread only.
#pragma once

#include "resolver/control/command_handlers.h"

namespace sinkhole::control {

void list_push(const CommandContext& ctx, const Request& r, const Respond& respond);
void block(const CommandContext& ctx, const Request& r, const Respond& respond);
void unblock(const CommandContext& ctx, const Request& r, const Respond& respond);
void list_stage(const CommandContext& ctx, const Request& r, const Respond& respond);
void list_diff(const CommandContext& ctx, const Request& r, const Respond& respond);
void list_promote(const CommandContext& ctx, const Request& r, const Respond& respond);
void list_unstage(const CommandContext& ctx, const Request& r, const Respond& respond);

}  // namespace sinkhole::control
