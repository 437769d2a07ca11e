// SPDX-License-Identifier: MIT
// CtlCli: sinkholectl's command line, generated from the command table (command_table.h):
// one subcommand per row ("cache flush" nests flush under cache), its arguments as
// positionals or options, --json on every command, and the table's help lines in --help.
// Then the typed command as a Request, and the server's Reply as sinkholectl prints it.
// Lives beside the table, not in the program, so the tests can check that --help lists
// exactly the table. sinkholectl's main thread only.
#pragma once

#include <CLI/CLI.hpp>

#include <deque>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "resolver/control/command_table.h"

namespace sinkhole::control {

// sinkholectl's exit status, as documented in its --help.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the server reported a failure
inline constexpr int kExitUnreachable = 2;  // no server answered on the socket

class CtlCli {
 public:
  // Adds -s/--socket and every command of the table to `app`, which must outlive this.
  explicit CtlCli(CLI::App& app);
  CtlCli(const CtlCli&) = delete;
  CtlCli& operator=(const CtlCli&) = delete;

  // After app.parse(): the command typed, with the arguments given.
  Request request() const;
  const std::string& socket_path() const { return socket_; }

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
  std::string socket_ = "/run/sinkholed/control.sock";
  bool json_ = false;
};

// Prints `reply` as sinkholectl does, to one stream (scripts read one): the text, or with
// --json the result (a failure: the whole reply object, "ok":false and "error"). Returns
// the reply's own exit status when it carries one, else kExitOk or kExitFailed.
int render_reply(const Reply& reply, bool json, std::ostream& out);

}  // namespace sinkhole::control
