// SPDX-License-Identifier: MIT
// The control commands, declared once: name, arguments, one line of help. sinkholectl
// builds its command line and --help from this table (ctl_cli.h); the server dispatches
// every entry (command_handlers.h); the "unknown command" reply lists it. Adding a command
// is one row here and one handler there; a unit test fails when either is missing.
//
// The protocol over the control socket (control_socket.h), one JSON object per line each
// way, one exchange per connection:
//   request  {"command":"explain","args":{"name":"www.example","client":"192.0.2.1"},
//             "json":false}
//   reply    {"ok":true,"text":"..."}           the output for people (json false)
//            {"ok":true,"result":{...}}         the output for programs (json true)
//            {"ok":false,"error":"...","text":"..."}   a failure: sinkholectl exits 1
//            either may carry "exit":N, the status sinkholectl exits with (Reply::exit)
// Every command answers in both forms. The table holds no server code: sinkholectl links it
// without the daemon's libraries. Any thread (all of it is constant or pure).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sinkhole::control {

enum class CommandId : uint8_t {
  kReload,
  kStatus,
  kStats,
  kLists,
  kExplain,
  kCacheFlush,
  kPolicies,
  kUpstreams,
  kConfigShow,
  // Updating lists by hand (resolver/control/list_admin.h).
  kListPush,
  kBlock,
  kUnblock,
  kListStage,
  kListDiff,
  kListPromote,
  kListUnstage,
};
inline constexpr size_t kCommandCount = 16;

// One argument: a positional (`option` empty, e.g. NAME), an option (e.g. --client IP), or
// a flag (e.g. --force: no value; sent as "true" when given).
struct Argument {
  std::string_view key;     // its name in requests ("name", "client")
  std::string_view option;  // CLI spelling of an option ("--client"), "" for a positional
  std::string_view value;   // what the usage calls its value ("NAME", "IP"); "" for a flag
  bool required;
  std::string_view help;
  bool flag = false;
  // A FILE whose bytes sinkholectl sends instead of its path (the daemon may not see the
  // operator's files: PrivateTmp, another host's mount): "<file name>:<base64>"
  // (attach_uploads, ctl_cli.h). Such a request may be up to kMaxUploadRequest long.
  bool upload = false;
  // The key of another argument of the command that this one excludes, one of the two
  // being required (`list stage LIST FILE|--from-feed`): the synopsis shows them as one
  // word, sinkholectl refuses both or neither as a usage error.
  std::string_view alternative = {};
};

struct Command {
  CommandId id;
  std::string_view name;  // words as typed: "status", "cache flush"
  std::span<const Argument> arguments;
  std::string_view help;  // one line
};

// The bound of a request line carrying a file (Argument::upload): 256 MiB of list, base64.
inline constexpr size_t kMaxUploadBytes = size_t{256} << 20;
inline constexpr size_t kMaxUploadRequest = kMaxUploadBytes / 3 * 4 + 64 * 1024;

// The table, in the order help lists it.
std::span<const Command> commands();
const Command& command(CommandId id);
const Command* find_command(std::string_view name);
// Whether a command has an upload argument (its request may be long).
bool has_upload(const Command& c);
// Commands that answer when the build they started ended (sinkholectl waits as for reload).
bool waits_for_build(CommandId id);
// "explain NAME [--client IP]": the name and its arguments as the usage shows them.
std::string synopsis(const Command& c);
// Every synopsis, comma-separated (the "unknown command" reply).
std::string all_synopses();

struct Request {
  CommandId id = CommandId::kStatus;
  std::map<std::string, std::string, std::less<>> args;  // by Argument::key; given ones only
  bool json = false;  // the reply carries `result` (JSON) instead of `text`

  // The value of `key`, "" when it was not given.
  std::string arg(std::string_view key) const;
};

struct Reply {
  bool ok = true;
  std::string error;              // !ok: what failed, in one line
  std::string text;               // for people: the output, or the failure as shown
  nlohmann::ordered_json result;  // for programs (ok, and the request asked for json)
  // sinkholectl's exit status when it is not 0/1 by `ok` alone: a command that succeeded
  // but reports a state the caller scripts on (status after a failed reload: 1; explain:
  // 3 blocked, 4 refused). 0 = decided by `ok`. Sent as "exit" only when non-zero.
  int exit = 0;
};

// Reply builders: text or JSON output, or a failure shown as "error: <error>" unless the
// command words it otherwise (a reload says "failed: ...").
Reply text_reply(std::string text);
Reply json_reply(nlohmann::ordered_json result);
Reply failure(std::string error, std::string text = {});

// One line each, no line end. Bytes that are not UTF-8 are replaced, not refused: a name
// or a list file may hold them, and a reply must still go out.
std::string to_line(const Request& r);
std::string to_line(const Reply& r);

// A request line checked against the table: known command, known arguments only, every
// required one present, string values. On failure, `error` says why.
struct ParsedRequest {
  std::optional<Request> request;
  std::string error;
};
ParsedRequest parse_request(std::string_view line);
// A reply line; nullopt when it is not one (e.g. not JSON).
std::optional<Reply> parse_reply(std::string_view line);

}  // namespace sinkhole::control
