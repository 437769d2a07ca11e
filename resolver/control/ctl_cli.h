// SPDX-License-Identifier: MIT
// CtlCli: sinkholectl's command line, generated from the command table (command_table.h):
// one subcommand per row ("cache flush" nests flush under cache), its arguments as
// positionals or options, the table's help lines in --help; global options (-s/--socket,
// -c/--config, --timeout, --json, --version) accepted before the command or after it.
// Then the typed command as a Request, the socket and timeout to use, and the server's
// Reply as sinkholectl prints it. Lives beside the table, not in the program, so the tests
// can check that --help lists exactly the table. sinkholectl's main thread only.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <deque>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "resolver/control/command_table.h"

namespace sinkhole::control {

// sinkholectl's exit status, as documented in its --help (kExitStatusHelp) and the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the server reported a failure, or a usage error
inline constexpr int kExitUnreachable = 2;  // no server on the socket, or no reply in time
inline constexpr int kExitBlocked = 3;      // explain: the name is blocked (Reply::exit)
inline constexpr int kExitRefused = 4;      // explain: the client is refused (Reply::exit)
extern const char* const kExitStatusHelp;

inline constexpr std::string_view kDefaultSocket = "/run/sinkholed/control.sock";
// How long sinkholectl waits for the server (connect, request, reply) unless --timeout
// says otherwise. A reload builds every list before it answers, so it waits longer.
inline constexpr std::chrono::milliseconds kDefaultTimeout{5'000};
inline constexpr std::chrono::milliseconds kDefaultReloadTimeout{120'000};

class CtlCli {
 public:
  // Adds the global options and every command of the table to `app`, which must outlive
  // this.
  explicit CtlCli(CLI::App& app);
  CtlCli(const CtlCli&) = delete;
  CtlCli& operator=(const CtlCli&) = delete;

  // After app.parse(): the command typed, with the arguments given.
  Request request() const;

  // After app.parse(): the socket to talk to — -s when given, else control.socket of the
  // -c configuration (read with the server's own loader), else kDefaultSocket.
  struct Target {
    std::string socket;  // empty on failure
    std::string error;   // why not (a configuration that does not load, or no socket in it)
    int exit = kExitOk;  // on failure: kExitFailed (bad configuration) or kExitUnreachable
  };
  Target target() const;
  // After app.parse(): --timeout, or the default for the command typed.
  std::chrono::milliseconds timeout() const;
  // (below: attach_uploads)

 private:
  struct Leaf {
    CommandId id;
    CLI::App* app;
    std::vector<std::pair<std::string_view, const std::string*>> values;  // key → value
    std::vector<std::pair<std::string_view, const bool*>> flags;          // key → set
  };
  std::vector<Leaf> leaves_;
  std::deque<std::string> storage_;  // argument values; a deque keeps their addresses
  std::deque<bool> flags_;           // flag values, sent as "true" when set
  std::string socket_{kDefaultSocket};
  std::string config_;
  std::string timeout_;
  CLI::Option* socket_option_ = nullptr;
  CLI::Option* timeout_option_ = nullptr;
  bool json_ = false;
};

// Parses `args` (without the program name) into `app`. Returns the exit status when the
// command line says to stop here: 0 after --help or --version (printed to `out`), 1 after
// a usage error (the error and a pointer to --help on `err`); nullopt to go on.
std::optional<int> parse_command_line(CLI::App& app, std::vector<std::string> args,
                                      std::ostream& out, std::ostream& err);

// Prints `reply` as sinkholectl does, to one stream (scripts read one): the text, or with
// --json the result (a failure: the whole reply object, "ok":false and "error"). Returns
// the reply's own exit status when it carries one, else kExitOk or kExitFailed.
int render_reply(const Reply& reply, bool json, std::ostream& out);

// Replaces the path of each upload argument (Argument::upload) of `r` with the file's name
// and bytes ("<name>:<base64>"); false and `error` when a file cannot be read or is over
// kMaxUploadBytes.
bool attach_uploads(Request& r, std::string* error);

}  // namespace sinkhole::control
