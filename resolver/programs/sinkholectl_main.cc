// SPDX-License-Identifier: MIT
// sinkholectl: talks to a running sinkholed over its control socket. Its commands, their
// arguments and --help come from the server's command table (control/command_table.h via
// control/ctl_cli.h); it sends one request line, reads one reply line within --timeout
// (control/ctl_client.h), and prints the text (or, with --json, the JSON result). Exit
// status (ctl_cli.h, in --help): 0 ok, 1 failed or a usage error, 2 no server or no reply
// in time, 3/4 explain's blocked/refused. fleet-report instead asks the nodes' metrics
// listeners over HTTP (control/fleet_report.h). Single-threaded but for fleet-report's
// fetches.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "resolver/control/command_table.h"
#include "resolver/control/ctl_cli.h"
#include "resolver/control/ctl_client.h"
#include "resolver/control/fleet_report.h"

int main(int argc, char** argv) {
  using namespace sinkhole::control;
  CLI::App app{"sinkholectl — control a running sinkholed", "sinkholectl"};
  CtlCli cli(app);
  FleetReportCli fleet(app);
  if (const auto stop = parse_command_line(app, std::vector<std::string>(argv + 1, argv + argc),
                                           std::cout, std::cerr))
    return *stop;
  if (fleet.selected())
    return run_fleet_report(fleet.options(), fetch_over_http, std::cout, std::cerr);

  const CtlCli::Target target = cli.target();
  if (target.socket.empty()) {
    std::cerr << "sinkholectl: " << target.error << "\n";
    return target.exit;
  }
  Request request = cli.request();
  if (std::string error; !attach_uploads(request, &error)) {
    std::cerr << "sinkholectl: " << error << "\n";
    return kExitFailed;
  }
  const auto timeout = cli.timeout();
  const AskResult r = ask(target.socket, to_line(request), timeout);
  if (r.outcome == AskResult::Outcome::kUnreachable) {
    std::cerr << "sinkholectl: cannot reach sinkholed at " << target.socket << ": " << r.error
              << "\n";
    return kExitUnreachable;
  }
  if (r.outcome == AskResult::Outcome::kTimeout) {
    std::cerr << "sinkholectl: sinkholed at " << target.socket << " did not answer within "
              << static_cast<double>(timeout.count()) / 1000 << " s (" << r.error << "; --timeout"
              << (request.id == CommandId::kReload
                      ? "; the reload may still be running: sinkholectl status shows its outcome"
                      : "")
              << ")\n";
    return kExitUnreachable;
  }
  const auto reply = parse_reply(r.reply);
  if (!reply) {
    std::cerr << "sinkholectl: sinkholed at " << target.socket
              << " sent a reply this version does not read\n";
    return kExitFailed;
  }
  return render_reply(*reply, request.json, std::cout);
}
