// SPDX-License-Identifier: MIT
#include "resolver/control/command_table.h"

#include <array>
#include <utility>

namespace sinkhole::control {

namespace {

using Json = nlohmann::ordered_json;

constexpr Argument kExplainArgs[] = {
    {"name", "", "NAME", true, "Domain name", false},
    {"client", "--client", "IP", false,
     "Client address whose policy applies (default: the verdict of every policy)", false},
};
constexpr Argument kFlushArgs[] = {
    {"name", "", "NAME", false, "Only this name (all types)", false},
};
constexpr Argument kReloadArgs[] = {
    {"force", "-f,--force", "", false,
     "Publish lists the list guard refuses (empty, rejects, shrink)", true},
};

constexpr Argument kListFileArgs[] = {
    {"list", "", "LIST", true, "List name (as in the configuration)", false},
    {"file", "", "FILE", true, "The new version (sent to the server; any list format)", false,
     true},
};
constexpr Argument kListStageArgs[] = {
    {"list", "", "LIST", true, "List name (as in the configuration)", false},
    {"file", "", "FILE", false, "The new version (sent to the server; any list format)", false,
     true, "from_feed"},
    {"from_feed", "--from-feed", "", false,
     "Stage the feed's newest version instead (an RPZ or HTTP list): the one it staged "
     "already (updates: stage), else fetched now; exit 1 when there is nothing newer",
     true, false, "file"},
};
constexpr Argument kListArgs[] = {
    {"list", "", "LIST", true, "List name (as in the configuration)", false},
};
constexpr Argument kBlockArgs[] = {
    {"name", "", "NAME", true, "Domain name (its subdomains too)", false},
    {"list", "--list", "L", false,
     "Only where list L applies (block: in the policies using L, with its action; unblock: "
     "an exception of L, which lifts even a mandatory list)",
     false},
    {"reason", "--reason", "TEXT", false, "Why (the audit log keeps it)", false},
};

constexpr std::array<Command, kCommandCount> kCommands = {{
    {CommandId::kReload, "reload", kReloadArgs,
     "Rebuild lists and policies from the configuration; the old policy keeps serving if the "
     "new one fails"},
    {CommandId::kStatus,
     "status",
     {},
     "Policy generation, lists, reloads, upstreams, counters (exit 1 after a failed reload)"},
    {CommandId::kStats,
     "stats",
     {},
     "Counters: queries, answers, blocked and monitored by policy/list/category/action, cache, "
     "upstreams"},
    {CommandId::kLists, "lists", {}, "Every list in service: format, entries, age"},
    {CommandId::kExplain, "explain", kExplainArgs,
     "Why NAME is blocked or allowed: policy, list and file:line, action, EDE text, the block "
     "rules an allow overrides; exit 0 allowed, 3 blocked, 4 refused (without --client: 3 if "
     "any policy blocks, else 4 if any refuses)"},
    {CommandId::kCacheFlush, "cache flush", kFlushArgs,
     "Empty the packet cache, or drop every answer for NAME"},
    {CommandId::kPolicies,
     "policies",
     {},
     "Policies in evaluation order: client CIDRs, allow lists, block rules and their actions"},
    {CommandId::kUpstreams,
     "upstreams",
     {},
     "Each upstream: up or down (since when), smoothed RTT, queries, timeouts, errors, last "
     "error"},
    {CommandId::kConfigShow,
     "config show",
     {},
     "The server settings in service, defaults included (man 5 sinkholed.yaml)"},
    {CommandId::kListPush, "list push", kListFileArgs,
     "Install FILE as LIST's new version once a build accepts it (the list guard); the old "
     "one stays as last-known-good; exit 1 when refused"},
    {CommandId::kBlock, "block", kBlockArgs,
     "Block NAME now (local override, kept across restarts; first in every policy)"},
    {CommandId::kUnblock, "unblock", kBlockArgs,
     "Remove a local block of NAME, or else lift NAME from every non-mandatory list (with "
     "--list L: from L only)"},
    {CommandId::kListStage, "list stage", kListStageArgs,
     "Load FILE, or the feed's newest version (--from-feed), as LIST's staged version in "
     "monitor mode: tallied, never answering"},
    {CommandId::kListDiff, "list diff", kListArgs,
     "Names the staged version adds and removes, and the queries and distinct clients since "
     "staging it would block that the version serving does not"},
    {CommandId::kListPromote, "list promote", kListArgs,
     "Enforce LIST's staged version (a build checks it as any new version)"},
    {CommandId::kListUnstage, "list unstage", kListArgs, "Drop LIST's staged version"},
}};

// Every id appears once: command(id) and the dispatch table rely on it.
constexpr bool ids_complete() {
  for (size_t id = 0; id < kCommandCount; ++id) {
    size_t n = 0;
    for (const auto& c : kCommands) n += static_cast<size_t>(c.id) == id;
    if (n != 1) return false;
  }
  return true;
}
static_assert(ids_complete(), "each CommandId needs exactly one row");

// The long name of an option ("-f,--force" → "--force").
std::string_view long_option(std::string_view spelling) {
  const size_t at = spelling.rfind("--");
  return at == std::string_view::npos ? spelling : spelling.substr(at);
}

}  // namespace

bool has_upload(const Command& c) {
  for (const auto& a : c.arguments)
    if (a.upload) return true;
  return false;
}

bool waits_for_build(CommandId id) {
  switch (id) {
    case CommandId::kReload:
    case CommandId::kListPush:
    case CommandId::kBlock:
    case CommandId::kUnblock:
    case CommandId::kListStage:
    case CommandId::kListPromote:
    case CommandId::kListUnstage:
      return true;
    default:
      return false;
  }
}

namespace {

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::span<const Command> commands() {
  return kCommands;
}

const Command& command(CommandId id) {
  for (const auto& c : kCommands)
    if (c.id == id) return c;
  return kCommands.front();  // unreachable: ids_complete()
}

const Command* find_command(std::string_view name) {
  for (const auto& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

std::string synopsis(const Command& c) {
  std::string out(c.name);
  for (const auto& a : c.arguments) {
    // Two alternatives are one word, at the positional's place: "FILE|--from-feed".
    if (!a.alternative.empty() && !a.option.empty()) continue;
    if (!a.alternative.empty()) {
      for (const auto& b : c.arguments)
        if (b.key == a.alternative)
          out += " " + std::string(a.value) + "|" + std::string(long_option(b.option));
      continue;
    }
    std::string word = a.option.empty() ? std::string(a.value)
                       : a.flag         ? std::string(long_option(a.option))
                                : std::string(long_option(a.option)) + " " + std::string(a.value);
    out += a.required ? " " + word : " [" + word + "]";
  }
  return out;
}

std::string all_synopses() {
  std::string out;
  for (const auto& c : kCommands) out += (out.empty() ? "" : ", ") + synopsis(c);
  return out;
}

std::string Request::arg(std::string_view key) const {
  const auto it = args.find(key);
  return it == args.end() ? std::string() : it->second;
}

Reply text_reply(std::string text) {
  Reply r;
  r.text = std::move(text);
  return r;
}

Reply json_reply(nlohmann::ordered_json result) {
  Reply r;
  r.result = std::move(result);
  return r;
}

Reply failure(std::string error, std::string text) {
  Reply r;
  r.ok = false;
  r.text = text.empty() ? "error: " + error + "\n" : std::move(text);
  r.error = std::move(error);
  return r;
}

std::string to_line(const Request& r) {
  Json args = Json::object();
  for (const auto& [k, v] : r.args) args[k] = v;
  return dump(Json{{"command", command(r.id).name}, {"args", std::move(args)}, {"json", r.json}});
}

std::string to_line(const Reply& r) {
  Json j = {{"ok", r.ok}};
  if (!r.ok) j["error"] = r.error;
  if (!r.text.empty()) j["text"] = r.text;
  if (r.ok && !r.result.is_null()) j["result"] = r.result;
  if (r.exit != 0) j["exit"] = r.exit;
  return dump(j);
}

ParsedRequest parse_request(std::string_view line) {
  ParsedRequest out;
  const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("command") || !j["command"].is_string()) {
    out.error = "not a request: one JSON object with a \"command\" per line";
    return out;
  }
  const std::string name = j["command"].get<std::string>();
  const Command* c = find_command(name);
  if (!c) {
    out.error = "unknown command '" + name + "' (" + all_synopses() + ")";
    return out;
  }
  Request req;
  req.id = c->id;
  if (j.contains("json")) {
    if (!j["json"].is_boolean()) {
      out.error = "\"json\" must be true or false";
      return out;
    }
    req.json = j["json"].get<bool>();
  }
  if (j.contains("args")) {
    if (!j["args"].is_object()) {
      out.error = "\"args\" must be an object";
      return out;
    }
    for (const auto& [key, value] : j["args"].items()) {
      const Argument* known = nullptr;
      for (const auto& a : c->arguments)
        if (a.key == key) known = &a;
      if (!known) {
        out.error =
            std::string(c->name) + ": unknown argument '" + key + "' (usage: " + synopsis(*c) + ")";
        return out;
      }
      if (!value.is_string()) {
        out.error = std::string(c->name) + ": " + key + " must be a string";
        return out;
      }
      if (known->flag && value != "true" && value != "false") {
        out.error = std::string(c->name) + ": " + key + " must be \"true\" or \"false\"";
        return out;
      }
      req.args.emplace(key, value.get<std::string>());
    }
  }
  for (const auto& a : c->arguments) {
    if (a.required && req.arg(a.key).empty()) {
      out.error = std::string(c->name) + ": " + std::string(a.value) +
                  " is required (usage: " + synopsis(*c) + ")";
      return out;
    }
  }
  out.request = std::move(req);
  return out;
}

std::optional<Reply> parse_reply(std::string_view line) {
  const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) return std::nullopt;
  Reply r;
  r.ok = j["ok"].get<bool>();
  if (j.contains("error") && j["error"].is_string()) r.error = j["error"].get<std::string>();
  if (j.contains("text") && j["text"].is_string()) r.text = j["text"].get<std::string>();
  if (j.contains("result")) r.result = j["result"];
  if (j.contains("exit") && j["exit"].is_number_integer()) {
    const auto e = j["exit"].get<int64_t>();
    if (e > 0 && e < 126) r.exit = static_cast<int>(e);  // a shell's own codes stay out
  }
  return r;
}

}  // namespace sinkhole::control
