// SPDX-License-Identifier: MIT
// sinkholectl's command line, generated from the command table: --help lists exactly the
// table's commands with their help lines; typed commands become the requests the server
// reads; replies print as documented, with the documented exit status.
#include "resolver/control/ctl_cli.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace sinkhole::control;

// The command names sinkholectl accepts, as "cache flush" for nested ones.
std::set<std::string> cli_commands(CLI::App& app, const std::string& prefix = "") {
  std::set<std::string> out;
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    const std::string name = prefix + sub->get_name();
    const auto nested = cli_commands(*sub, name + " ");
    if (nested.empty())
      out.insert(name);
    else
      out.insert(nested.begin(), nested.end());
  }
  return out;
}

// Parses argv as sinkholectl would; nullopt when CLI11 rejects it.
struct Parsed {
  std::optional<Request> request;
  std::string socket;
};
Parsed parse(std::vector<std::string> args) {
  CLI::App app{"sinkholectl", "sinkholectl"};
  CtlCli cli(app);
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector form reversed
  try {
    app.parse(args);
  } catch (const CLI::ParseError&) {
    return {};
  }
  return {cli.request(), cli.socket_path()};
}

}  // namespace

TEST_CASE("--help lists exactly the table's commands, with their help lines") {
  CLI::App app{"sinkholectl", "sinkholectl"};
  CtlCli cli(app);
  std::set<std::string> table;
  for (const Command& c : commands()) table.insert(std::string(c.name));
  CHECK(cli_commands(app) == table);

  const std::string help = app.help();
  for (const Command& c : commands()) {
    CAPTURE(c.name);
    const std::string first = std::string(c.name.substr(0, c.name.find(' ')));
    CHECK(help.find(first) != std::string::npos);
    CLI::App* sub = app.get_subcommand(first);
    if (c.name.find(' ') != std::string_view::npos) {
      const std::string rest(c.name.substr(c.name.find(' ') + 1));
      CHECK(sub->get_description().find(rest) != std::string::npos);  // "cache commands: flush"
      sub = sub->get_subcommand(rest);
    } else {
      CHECK(help.find(std::string(c.help)) != std::string::npos);
    }
    CHECK(sub->get_description() == c.help);
    const std::string sub_help = sub->help();
    CHECK(sub_help.find("--json") != std::string::npos);
    for (const Argument& a : c.arguments)
      CHECK(sub_help.find(std::string(a.help)) != std::string::npos);
  }
  CHECK(help.find("Exit status: 0 ok, 1 the server reported a failure, 2 server unreachable.") !=
        std::string::npos);
}

TEST_CASE("typed commands become requests") {
  auto p = parse({"status"});
  REQUIRE(p.request);
  CHECK(p.request->id == CommandId::kStatus);
  CHECK_FALSE(p.request->json);
  CHECK(p.request->args.empty());
  CHECK(p.socket == "/run/sinkholed/control.sock");

  p = parse({"-s", "/tmp/x.sock", "stats", "--json"});
  REQUIRE(p.request);
  CHECK(p.request->id == CommandId::kStats);
  CHECK(p.request->json);
  CHECK(p.socket == "/tmp/x.sock");

  p = parse({"explain", "WWW.Casino.example.", "--client", "203.0.113.7", "--json"});
  REQUIRE(p.request);
  CHECK(p.request->id == CommandId::kExplain);
  CHECK(p.request->arg("name") == "WWW.Casino.example.");
  CHECK(p.request->arg("client") == "203.0.113.7");
  CHECK(p.request->json);

  p = parse({"explain", "--client", "::1", "a.example"});
  REQUIRE(p.request);
  CHECK(p.request->arg("client") == "::1");
  CHECK(p.request->arg("name") == "a.example");
  // --client only: -c is sinkholectl's global CONFIG option.
  CHECK_FALSE(parse({"explain", "-c", "::1", "a.example"}).request);

  p = parse({"cache", "flush"});
  REQUIRE(p.request);
  CHECK(p.request->id == CommandId::kCacheFlush);
  CHECK(p.request->args.empty());
  p = parse({"cache", "flush", "news.example"});
  REQUIRE(p.request);
  CHECK(p.request->arg("name") == "news.example");

  p = parse({"reload"});
  REQUIRE(p.request);
  CHECK(p.request->args.empty());
  p = parse({"reload", "--force"});
  REQUIRE(p.request);
  CHECK(p.request->id == CommandId::kReload);
  CHECK(p.request->arg("force") == "true");

  // What every request line must pass on the server.
  for (const auto& args : std::vector<std::vector<std::string>>{{"reload"},
                                                                {"reload", "--force"},
                                                                {"lists", "--json"},
                                                                {"explain", "x.example"},
                                                                {"cache", "flush"}}) {
    const auto q = parse(args);
    REQUIRE(q.request);
    CHECK(parse_request(to_line(*q.request)).request);
  }
}

TEST_CASE("explain -- NAME: a name starting with '-' is the positional after --") {
  auto p = parse({"explain", "--", "-odd-name.example"});
  REQUIRE(p.request);
  CHECK(p.request->id == CommandId::kExplain);
  CHECK(p.request->arg("name") == "-odd-name.example");
  p = parse({"explain", "--client", "192.0.2.1", "--json", "--", "-x.example"});
  REQUIRE(p.request);
  CHECK(p.request->arg("name") == "-x.example");
  CHECK(p.request->arg("client") == "192.0.2.1");
  CHECK(p.request->json);
  p = parse({"cache", "flush", "--", "-x.example"});
  REQUIRE(p.request);
  CHECK(p.request->arg("name") == "-x.example");
  // Without --, the same word is an unknown option.
  CHECK_FALSE(parse({"explain", "-odd-name.example"}).request);
  CHECK_FALSE(parse({"explain", "--"}).request);  // NAME still required
}

TEST_CASE("command lines CLI11 refuses") {
  CHECK_FALSE(parse({}).request);                   // a command is required
  CHECK_FALSE(parse({"explain"}).request);          // NAME is required
  CHECK_FALSE(parse({"cache"}).request);            // cache needs flush
  CHECK_FALSE(parse({"reboot"}).request);           // not in the table
  CHECK_FALSE(parse({"status", "extra"}).request);  // no positional
  CHECK_FALSE(parse({"explain", "a", "--cleint", "x"}).request);
}

TEST_CASE("replies print as documented, exit 0 or 1") {
  std::ostringstream out;
  CHECK(render_reply(text_reply("ok: cache flushed (2 entries)"), false, out) == kExitOk);
  CHECK(out.str() == "ok: cache flushed (2 entries)\n");

  out.str("");
  CHECK(render_reply(json_reply({{"generation", 2}}), true, out) == kExitOk);
  CHECK(out.str() == "{\"generation\":2}\n");

  out.str("");
  const Reply failed = failure("bad (generation 1 still in service)",
                               "failed: bad (generation 1 still in service)\n");
  CHECK(render_reply(failed, false, out) == kExitFailed);
  CHECK(out.str() == "failed: bad (generation 1 still in service)\n");

  out.str("");
  Reply refused = text_reply("refused\n");
  refused.exit = 4;
  CHECK(render_reply(refused, false, out) == 4);

  out.str("");
  CHECK(render_reply(failure("'x' is not an IPv4 or IPv6 address"), true, out) == kExitFailed);
  const auto j = nlohmann::json::parse(out.str());
  CHECK(j["ok"] == false);
  CHECK(j["error"] == "'x' is not an IPv4 or IPv6 address");
}
