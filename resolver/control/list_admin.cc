// SPDX-License-Identifier: MIT
#include "resolver/control/list_admin.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "policy/list_copies.h"
#include "policy/list_diff.h"
#include "policy/local_overrides.h"
#include "resolver/feeds/feed_manager.h"
#include "util/base64.h"
#include "util/log_escape.h"
#include "util/read_file.h"

namespace sinkhole::control {

namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string fnv1a(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

// The list of the snapshot serving that a push, stage or diff may name.
const policy::ListData* find_list(const CommandContext& ctx, const std::string& name,
                                  std::string* error) {
  const auto snap = ctx.state->holder->current();
  for (const auto& l : snap->lists)
    if (l.name == name && !l.override_list) return &l;
  *error =
      policy::is_override_list(name)
          ? fmt::format("'{}' is the local overrides' list: use sinkholectl block/unblock", name)
          : fmt::format("no list '{}' in service (sinkholectl lists)", name);
  return nullptr;
}

struct Upload {
  std::string origin;
  std::string bytes;
};

std::optional<Upload> decode_upload(const std::string& value, std::string* error) {
  const size_t colon = value.rfind(':');
  std::optional<std::string> bytes;
  if (colon != std::string::npos)
    bytes = util::base64_decode(std::string_view(value).substr(colon + 1));
  if (!bytes) {
    *error = "the file was not sent as sinkholectl sends it (<name>:<base64>)";
    return std::nullopt;
  }
  return Upload{value.substr(0, colon), std::move(*bytes)};
}

bool needs_feeds(const CommandContext& ctx, const Respond& respond) {
  if (ctx.feeds && ctx.state && ctx.state->holder) return true;
  respond(failure("this server keeps no list copies (no state directory)"));
  return false;
}

void audit(const CommandContext& ctx, feeds::AuditEvent ev) {
  ev.who = "ctl";
  std::string err;
  if (!ctx.feeds->audit().append(ev, &err)) spdlog::error("audit log: {}", err);
}

uint64_t entries_of(const CommandContext& ctx, const std::string& list) {
  const auto snap = ctx.state->holder->current();
  for (const auto& l : snap->lists)
    if (l.name == list) return l.stats.entries;
  return 0;
}

// After a build that read `list`'s candidate (push, promote): installed or refused.
// A new copy or override from sinkholectl: built from the snapshot serving, so that an
// edit of the configuration or of a file list the admin has not reloaded neither blocks it
// nor rides along.
void build_for_feed(const CommandContext& ctx, Reloader::Done done) {
  if (ctx.feed_build)
    ctx.feed_build(std::move(done));
  else
    ctx.reload(false, std::move(done));
}

void answer_install(const CommandContext& ctx, const std::string& list, const std::string& verb,
                    Clock::time_point t0, bool json, const Respond& respond,
                    const Reloader::Outcome& o) {
  const auto refusal = std::find_if(o.refusals.begin(), o.refusals.end(),
                                    [&](const policy::ListRefusal& f) { return f.list == list; });
  if (refusal != o.refusals.end())
    return respond(failure(fmt::format("list {}: {} refused, the version serving stays: {}", list,
                                       verb, refusal->message)));
  const bool read = std::find(o.candidates.begin(), o.candidates.end(), list) != o.candidates.end();
  if (!o.ok || !read)
    return respond(failure(
        fmt::format("list {}: the build failed ({}); the new version waits for the next reload",
                    list, o.message)));
  const auto meta = ctx.feeds->store().meta(list, policy::kCopyCurrent);
  const std::string version = meta ? meta->version : "";
  const uint64_t entries = entries_of(ctx, list);
  const double secs = seconds_since(t0);
  if (json)
    return respond(json_reply(Json{{"list", list},
                                   {"version", version},
                                   {"entries", entries},
                                   {"generation", o.generation},
                                   {"seconds", secs}}));
  respond(text_reply(
      fmt::format("ok: list {}: {} installed: {}, {} entries, generation {} ({:.3f} s)\n", list,
                  verb, version, entries, o.generation, secs)));
}

// Block or unblock: edit the overrides file, audit, build, answer once it serves.
void edit_override(const CommandContext& ctx, const Request& r, const Respond& respond,
                   bool is_block) {
  if (!needs_feeds(ctx, respond)) return;
  std::string error;
  const std::string name = policy::check_override_name(r.arg("name"), &error);
  if (name.empty())
    return respond(failure(fmt::format("'{}' is not a domain name: {}",
                                       util::escape_for_log(r.arg("name"), 80), error)));
  const std::string scope = r.arg("list");
  if (!scope.empty() && !find_list(ctx, scope, &error)) return respond(failure(error));
  const std::string reason = r.arg("reason");
  const auto& store = ctx.feeds->store();
  const std::string path = store.path(policy::kOverrideList, policy::kCopyCurrent);
  std::vector<policy::OverrideEntry> entries;
  if (const auto text = util::read_file(path, nullptr)) entries = policy::parse_overrides(*text);
  const policy::OverrideEdit edit = is_block ? policy::apply_block(entries, name, scope, reason)
                                             : policy::apply_unblock(entries, name, scope, reason);
  const std::string where = scope.empty() ? "every policy" : "list " + scope;
  const auto t0 = Clock::now();
  feeds::CopyMeta meta;
  meta.source = "override";
  meta.who = "ctl";
  meta.origin = "sinkholectl";
  meta.version = fmt::format("{} entries", entries.size());
  meta.seen_unix_ms = feeds::unix_now_ms();
  if (const std::string err = store.write(policy::kOverrideList, policy::kCopyCurrent,
                                          policy::render_overrides(entries), meta);
      !err.empty())
    return respond(failure("cannot save the local overrides: " + err));
  feeds::AuditEvent ev;
  ev.list = scope.empty() ? std::string(policy::kOverrideList) : scope;
  ev.event = is_block ? "blocked" : "unblocked";
  ev.source = "override";
  ev.origin = "sinkholectl";
  ev.name = name;
  ev.new_version = policy::to_string(edit);
  ev.reason = reason;
  ev.entries = entries.size();
  audit(ctx, ev);
  spdlog::info("control: {} {} ({}): {}", is_block ? "block" : "unblock", name, where,
               policy::to_string(edit));
  build_for_feed(
      ctx, [name, where, edit, is_block, t0, json = r.json, respond](const Reloader::Outcome& o) {
        const double secs = seconds_since(t0);
        if (!o.ok)
          return respond(failure(fmt::format(
              "{} {} saved, but the reload failed ({}): it applies at the next successful reload",
              is_block ? "block" : "unblock", name, o.message)));
        if (json)
          return respond(json_reply(Json{{"name", name},
                                         {"scope", where},
                                         {"change", policy::to_string(edit)},
                                         {"generation", o.generation},
                                         {"seconds", secs}}));
        respond(text_reply(fmt::format("ok: {} {} ({}): {}; generation {} serving ({:.3f} s)\n",
                                       is_block ? "block" : "unblock", name, where,
                                       policy::to_string(edit), o.generation, secs)));
      });
}

}  // namespace

void list_push(const CommandContext& ctx, const Request& r, const Respond& respond) {
  if (!needs_feeds(ctx, respond)) return;
  const std::string list = r.arg("list");
  std::string error;
  const policy::ListData* l = find_list(ctx, list, &error);
  if (!l) return respond(failure(error));
  auto upload = decode_upload(r.arg("file"), &error);
  if (!upload) return respond(failure(error));
  feeds::CopyMeta meta;
  meta.source = "push";
  meta.who = "ctl";
  meta.origin = upload->origin;
  meta.hash = fnv1a(upload->bytes);
  meta.version = "push " + meta.hash;
  meta.seen_unix_ms = feeds::unix_now_ms();
  if (!l->source.is_feed()) meta.over_file = policy::file_fingerprint(l->configured_path);
  if (const std::string err =
          ctx.feeds->store().write(list, policy::kCopyCandidate, upload->bytes, meta);
      !err.empty())
    return respond(failure(err));
  spdlog::info("control: list push {} ({} bytes from {})", util::escape_for_log(list, 120),
               upload->bytes.size(), util::escape_for_log(upload->origin, 120));
  ctx.feeds->offer(list, /*build=*/false);
  const auto t0 = Clock::now();
  build_for_feed(ctx, [&ctx, list, t0, json = r.json, respond](const Reloader::Outcome& o) {
    answer_install(ctx, list, "push", t0, json, respond, o);
  });
}

void block(const CommandContext& ctx, const Request& r, const Respond& respond) {
  edit_override(ctx, r, respond, true);
}

void unblock(const CommandContext& ctx, const Request& r, const Respond& respond) {
  edit_override(ctx, r, respond, false);
}

namespace {

// list stage LIST --from-feed: the feed's newest version, staged by the feed manager.
void stage_from_feed(const CommandContext& ctx, const Request& r, const Respond& respond,
                     const policy::ListData& l) {
  const std::string list = l.name;
  if (!l.source.is_feed())
    return respond(failure(fmt::format(
        "list {} has no feed (its source is the file {}): --from-feed needs a list with "
        "primary: (RPZ) or url: (HTTP); stage a file with sinkholectl list stage {} FILE",
        list, l.configured_path.empty() ? l.path : l.configured_path, list)));
  const auto t0 = Clock::now();
  ctx.feeds->stage_from_feed(list, [&ctx, list, t0, json = r.json,
                                    respond](const feeds::FeedManager::StageResult& s) {
    if (!s.ok) return respond(failure(fmt::format("list {}: nothing staged: {}", list, s.error)));
    const auto snap = ctx.state->holder->current();
    uint64_t staged = 0, serving = 0;
    for (const auto& x : snap->lists)
      if (x.name == list) {
        staged = x.staged_entries;
        serving = x.stats.entries;
      }
    const auto cur = ctx.feeds->store().meta(list, policy::kCopyCurrent);
    const std::string serving_version = cur ? cur->version : "no copy";
    const double secs = seconds_since(t0);
    if (json)
      return respond(json_reply(Json{{"list", list},
                                     {"version", s.version},
                                     {"serving_version", serving_version},
                                     {"already_staged", s.already},
                                     {"staged_entries", staged},
                                     {"serving_entries", serving},
                                     {"seconds", secs}}));
    respond(text_reply(fmt::format(
        "ok: list {}: staged {} from the feed{} ({} entries; serving: {}, {} entries) in monitor "
        "mode — no answer changes until `sinkholectl list promote {}` ({:.3f} s)\n",
        list, s.version, s.already ? " (already staged by the feed)" : "", staged, serving_version,
        serving, list, secs)));
  });
}

}  // namespace

void list_stage(const CommandContext& ctx, const Request& r, const Respond& respond) {
  if (!needs_feeds(ctx, respond)) return;
  const std::string list = r.arg("list");
  std::string error;
  const policy::ListData* l = find_list(ctx, list, &error);
  if (!l) return respond(failure(error));
  const bool from_feed = r.arg("from_feed") == "true";
  if (from_feed && !r.arg("file").empty())
    return respond(failure("list stage: FILE and --from-feed exclude each other"));
  if (from_feed) return stage_from_feed(ctx, r, respond, *l);
  if (r.arg("file").empty())
    return respond(
        failure("list stage: FILE or --from-feed is required (usage: list stage LIST "
                "FILE|--from-feed)"));
  auto upload = decode_upload(r.arg("file"), &error);
  if (!upload) return respond(failure(error));
  feeds::CopyMeta meta;
  meta.source = "push";
  meta.who = "ctl";
  meta.origin = upload->origin;
  meta.hash = fnv1a(upload->bytes);
  meta.version = "staged " + meta.hash;
  meta.seen_unix_ms = feeds::unix_now_ms();
  const auto& store = ctx.feeds->store();
  if (const std::string err = store.write(list, policy::kCopyStaged, upload->bytes, meta);
      !err.empty())
    return respond(failure(err));
  const auto t0 = Clock::now();
  ctx.reload(false, [&ctx, list, meta, t0, json = r.json, respond](const Reloader::Outcome& o) {
    const auto snap = ctx.state->holder->current();
    const policy::ListData* l = nullptr;
    for (const auto& x : snap->lists)
      if (x.name == list) l = &x;
    feeds::AuditEvent ev;
    ev.list = list;
    ev.source = "push";
    ev.origin = meta.origin;
    ev.new_version = meta.version;
    if (!o.ok || !l || !l->staged) {
      ctx.feeds->store().remove(list, policy::kCopyStaged);
      ev.event = "stage_refused";
      ev.reason = o.ok ? "the staged copy has no valid entry" : o.message;
      audit(ctx, ev);
      return respond(failure(fmt::format("list {}: not staged: {}", list, ev.reason)));
    }
    ev.event = "staged";
    ev.entries = l->staged_entries;
    ev.old_version = "serving";
    audit(ctx, ev);
    const double secs = seconds_since(t0);
    if (json)
      return respond(json_reply(Json{{"list", list},
                                     {"version", meta.version},
                                     {"staged_entries", l->staged_entries},
                                     {"serving_entries", l->stats.entries},
                                     {"seconds", secs}}));
    respond(text_reply(fmt::format(
        "ok: list {}: staged {} ({} entries; serving: {}) in monitor mode — no answer changes "
        "until `sinkholectl list promote {}` ({:.3f} s)\n",
        list, meta.version, l->staged_entries, l->stats.entries, list, secs)));
  });
}

void list_diff(const CommandContext& ctx, const Request& r, const Respond& respond) {
  if (!needs_feeds(ctx, respond)) return;
  const std::string list = r.arg("list");
  std::string error;
  const policy::ListData* l = find_list(ctx, list, &error);
  if (!l) return respond(failure(error));
  if (!l->staged || !l->staged_tally)
    return respond(
        failure(fmt::format("list {} has no staged version (sinkholectl list stage)", list)));
  const auto snap = ctx.state->holder->current();  // keeps `l` alive meanwhile
  const blocklist::Format* format =
      l->format_basis == blocklist::FormatBasis::kConfigured ? &l->format : nullptr;
  static constexpr size_t kKeep = 1000;
  const policy::ListDiff d = policy::diff_names(policy::block_names(l->path, format),
                                                policy::block_names(l->staged_path, format), kKeep);
  const uint64_t queries = l->staged_tally->queries();
  const auto clients = static_cast<uint64_t>(std::llround(l->staged_tally->clients()));
  const int64_t since = l->staged_tally->since_unix_ms();
  if (r.json)
    return respond(json_reply(Json{{"list", list},
                                   {"serving_entries", l->stats.entries},
                                   {"staged_entries", l->staged_entries},
                                   {"added", d.added},
                                   {"removed", d.removed},
                                   {"added_names", d.added_names},
                                   {"removed_names", d.removed_names},
                                   {"queries", queries},
                                   {"clients", clients},
                                   {"since_unix_ms", since}}));
  auto show = [](const std::vector<std::string>& names, size_t n) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < 20; ++i)
      out += "    " + util::escape_for_log(names[i], 255) + "\n";
    if (n > 20) out += fmt::format("    … {} more (--json lists up to {})\n", n - 20, kKeep);
    return out;
  };
  const int64_t age_s = ctx.now_unix ? ctx.now_unix() - since / 1000 : 0;
  respond(text_reply(fmt::format(
      "list {}: staged {} entries, serving {}\n  added {}:\n{}  removed {}:\n{}  since staging "
      "({} s ago): {} queries from about {} distinct clients would be blocked that the version "
      "serving lets through\n",
      list, l->staged_entries, l->stats.entries, d.added, show(d.added_names, d.added), d.removed,
      show(d.removed_names, d.removed), age_s, queries, clients)));
}

void list_promote(const CommandContext& ctx, const Request& r, const Respond& respond) {
  if (!needs_feeds(ctx, respond)) return;
  const std::string list = r.arg("list");
  std::string error;
  if (!find_list(ctx, list, &error)) return respond(failure(error));
  const auto& store = ctx.feeds->store();
  if (!store.exists(list, policy::kCopyStaged))
    return respond(failure(fmt::format("list {} has no staged version", list)));
  const auto meta = store.meta(list, policy::kCopyStaged);
  if (const std::string err = store.move(list, policy::kCopyStaged, policy::kCopyCandidate);
      !err.empty())
    return respond(failure(err));
  feeds::AuditEvent ev;
  ev.list = list;
  ev.event = "promoted";
  ev.source = meta && !meta->source.empty() ? meta->source : "push";
  ev.origin = meta ? meta->origin : "";
  ev.new_version = meta ? meta->version : "";
  audit(ctx, ev);
  if (!ctx.feeds->feed(list) && meta) {
    // A file list keeps a promoted version as it keeps a push: until its file changes.
    feeds::CopyMeta m = *meta;
    const policy::ListData* l = find_list(ctx, list, &error);
    if (l && !l->source.is_feed()) {
      m.over_file = policy::file_fingerprint(l->configured_path);
      if (const auto bytes = util::read_file(store.path(list, policy::kCopyCandidate), nullptr))
        store.write(list, policy::kCopyCandidate, *bytes, m);
    }
  }
  ctx.feeds->offer(list, /*build=*/false);
  ctx.feeds->staged_gone(list);
  const auto t0 = Clock::now();
  build_for_feed(ctx, [&ctx, list, t0, json = r.json, respond](const Reloader::Outcome& o) {
    answer_install(ctx, list, "staged version", t0, json, respond, o);
  });
}

void list_unstage(const CommandContext& ctx, const Request& r, const Respond& respond) {
  if (!needs_feeds(ctx, respond)) return;
  const std::string list = r.arg("list");
  std::string error;
  if (!find_list(ctx, list, &error)) return respond(failure(error));
  const auto& store = ctx.feeds->store();
  if (!store.exists(list, policy::kCopyStaged))
    return respond(failure(fmt::format("list {} has no staged version", list)));
  const auto meta = store.meta(list, policy::kCopyStaged);
  store.remove(list, policy::kCopyStaged);
  ctx.feeds->staged_gone(list);
  feeds::AuditEvent ev;
  ev.list = list;
  ev.event = "unstaged";
  ev.source = meta && !meta->source.empty() ? meta->source : "push";
  ev.old_version = meta ? meta->version : "";
  audit(ctx, ev);
  ctx.reload(false, [list, json = r.json, respond](const Reloader::Outcome& o) {
    if (!o.ok)
      return respond(failure(fmt::format(
          "list {}: staged copy removed; the reload failed ({}): the tally stops at the next "
          "successful reload",
          list, o.message)));
    if (json) return respond(json_reply(Json{{"list", list}, {"generation", o.generation}}));
    respond(text_reply(fmt::format("ok: list {}: staged version dropped\n", list)));
  });
}

}  // namespace sinkhole::control
