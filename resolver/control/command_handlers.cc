// SPDX-License-Identifier: MIT
#include "resolver/control/command_handlers.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>

#include "policy/explain.h"
#include "resolver/config/config_diff.h"
#include "resolver/config/config_reference.h"
#include "resolver/control/list_admin.h"
#include "resolver/dns/name.h"
#include "resolver/observe/explain_report.h"
#include "resolver/observe/policies_report.h"
#include "resolver/observe/stats_report.h"
#include "resolver/observe/status_report.h"
#include "resolver/observe/upstream_report.h"

namespace sinkhole::control {

namespace {

using Handler = void (*)(const CommandContext&, const Request&, const Respond&);

// Text or JSON, whichever the request asked for.
template <typename Text, typename Json>
Reply report(const Request& r, Text text, Json json) {
  return r.json ? json_reply(json()) : text_reply(text());
}

void reload(const CommandContext& ctx, const Request& r, const Respond& respond) {
  const bool force = r.arg("force") == "true";
  spdlog::info("control: reload{} requested", force ? " --force" : "");
  ctx.reload(force, [json = r.json, respond](const Reloader::Outcome& o) {
    if (!o.ok) {
      const std::string error =
          fmt::format("{} (generation {} still in service)", o.message, o.generation);
      return respond(failure(error, "failed: " + error + "\n"));
    }
    if (json)
      return respond(json_reply({{"generation", o.generation},
                                 {"summary", o.message},
                                 {"seconds", o.seconds},
                                 {"warnings", o.warnings},
                                 {"applied", o.applied},
                                 {"restart_required", o.restart_required}}));
    // Never a bare "ok" when part of the file was not applied.
    const std::string restart =
        o.restart_required.empty() ? ""
                                   : "; restart required: " + config::join_keys(o.restart_required);
    respond(
        text_reply(fmt::format("ok: generation {} in service: {} ({:.3f} s){}\n{}", o.generation,
                               o.message, o.seconds, restart, observe::warnings_text(o.warnings))));
  });
}

void status(const CommandContext& ctx, const Request& r, const Respond& respond) {
  const auto& s = *ctx.state;
  const int64_t now = ctx.now_unix();
  Reply reply = report(
      r, [&] { return observe::status_text(s, now); },
      [&] { return observe::status_json(s, now); });
  // Scripts and monitoring check the exit status: the operator's last change is not in
  // service (a failed reload), or the server does not run what its file says (a setting
  // waits for a restart).
  if (!s.reloads->last_error().empty() || !s.reloads->restart_required().empty()) reply.exit = 1;
  respond(reply);
}

void upstreams(const CommandContext& ctx, const Request& r, const Respond& respond) {
  const auto& s = *ctx.state;
  const int64_t now = ctx.now_unix();
  respond(report(
      r, [&] { return observe::upstreams_text(s, now); },
      [&] { return observe::upstreams_json(s, now); }));
}

void stats(const CommandContext& ctx, const Request& r, const Respond& respond) {
  const auto& s = *ctx.state;
  const int64_t now = ctx.now_unix();
  respond(report(
      r, [&] { return observe::stats_text(s, now); }, [&] { return observe::stats_json(s, now); }));
}

void lists(const CommandContext& ctx, const Request& r, const Respond& respond) {
  const auto& s = *ctx.state;
  const int64_t now = ctx.now_unix();
  respond(report(
      r, [&] { return observe::lists_text(s, now); }, [&] { return observe::lists_json(s, now); }));
}

void explain(const CommandContext& ctx, const Request& r, const Respond& respond) {
  const std::string client = r.arg("client");
  sockaddr_storage addr{};
  if (!client.empty() && !policy::parse_client_address(client, addr))
    return respond(failure(fmt::format("'{}' is not an IPv4 or IPv6 address", client)));
  const auto snap = ctx.state->holder->current();
  // Without --client: every policy's verdict, never silently one of them.
  const std::vector<policy::Explanation> each =
      client.empty() ? policy::explain_policies(*snap, r.arg("name"))
                     : std::vector<policy::Explanation>{policy::explain(
                           *snap, r.arg("name"), reinterpret_cast<const sockaddr*>(&addr))};
  if (each.front().outcome == policy::Explanation::Outcome::kInvalidName) {
    std::string text = observe::explain_text(each.front());
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return respond(failure(text));
  }
  Reply reply = report(
      r, [&] { return observe::explain_text(each); },
      [&] { return observe::explain_json(each, observe::Audience::kOperator); });
  reply.exit = policy::exit_status(each);
  respond(std::move(reply));
}

void cache_flush(const CommandContext& ctx, const Request& r, const Respond& respond) {
  cache::PacketCache* cache = ctx.state->cache;
  if (!cache || !cache->enabled()) return respond(failure("the cache is off (cache.max_bytes: 0)"));
  const std::string name = r.arg("name");
  if (name.empty()) {
    const size_t before = cache->stats().entries;
    cache->flush();
    return respond(report(
        r, [&] { return fmt::format("ok: cache flushed ({} entries)\n", before); },
        [&] {
          return nlohmann::ordered_json{{"removed", before}};
        }));
  }
  uint8_t wire[dns::kMaxNameWire];
  const size_t len = dns::text_to_wire(name, wire);
  if (len == 0) return respond(failure(fmt::format("'{}' is not a valid name", name)));
  const size_t n = cache->flush(wire, len);
  respond(report(
      r,
      [&] { return fmt::format("ok: {} entr{} for {} removed\n", n, n == 1 ? "y" : "ies", name); },
      [&] {
        return nlohmann::ordered_json{{"name", name}, {"removed", n}};
      }));
}

void policies(const CommandContext& ctx, const Request& r, const Respond& respond) {
  const auto snap = ctx.state->holder->current();
  respond(report(
      r, [&] { return observe::policies_text(*snap); },
      [&] { return observe::policies_json(*snap); }));
}

void config_show(const CommandContext& ctx, const Request& r, const Respond& respond) {
  if (!ctx.config) return respond(failure("this server keeps no configuration to show"));
  const config::Config& c = ctx.config();
  respond(report(
      r, [&] { return config::effective_text(c); }, [&] { return config::effective_json(c); }));
}

// Indexed by CommandId.
constexpr std::array<Handler, kCommandCount> kHandlers = [] {
  std::array<Handler, kCommandCount> h{};
  h[static_cast<size_t>(CommandId::kReload)] = reload;
  h[static_cast<size_t>(CommandId::kStatus)] = status;
  h[static_cast<size_t>(CommandId::kStats)] = stats;
  h[static_cast<size_t>(CommandId::kLists)] = lists;
  h[static_cast<size_t>(CommandId::kExplain)] = explain;
  h[static_cast<size_t>(CommandId::kCacheFlush)] = cache_flush;
  h[static_cast<size_t>(CommandId::kPolicies)] = policies;
  h[static_cast<size_t>(CommandId::kUpstreams)] = upstreams;
  h[static_cast<size_t>(CommandId::kConfigShow)] = config_show;
  h[static_cast<size_t>(CommandId::kListPush)] = list_push;
  h[static_cast<size_t>(CommandId::kBlock)] = block;
  h[static_cast<size_t>(CommandId::kUnblock)] = unblock;
  h[static_cast<size_t>(CommandId::kListStage)] = list_stage;
  h[static_cast<size_t>(CommandId::kListDiff)] = list_diff;
  h[static_cast<size_t>(CommandId::kListPromote)] = list_promote;
  h[static_cast<size_t>(CommandId::kListUnstage)] = list_unstage;
  return h;
}();

}  // namespace

bool has_handler(CommandId id) {
  return static_cast<size_t>(id) < kHandlers.size() && kHandlers[static_cast<size_t>(id)];
}

void run_command(const CommandContext& ctx, const Request& request, const Respond& respond) {
  if (!has_handler(request.id))
    return respond(
        failure(fmt::format("'{}' is not handled by this server", command(request.id).name)));
  kHandlers[static_cast<size_t>(request.id)](ctx, request, respond);
}

void dispatch(const CommandContext& ctx, std::string_view line, const Respond& respond) {
  const ParsedRequest parsed = parse_request(line);
  if (!parsed.request) return respond(failure(parsed.error));
  run_command(ctx, *parsed.request, respond);
}

}  // namespace sinkhole::control
