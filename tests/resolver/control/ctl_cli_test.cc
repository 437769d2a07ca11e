// SPDX-License-Identifier: MIT
// sinkholectl's command line, generated from the command table: --help lists exactly the
// table's commands with their help lines and the exit statuses; typed commands become the
// requests the server reads; global options (--json, -s, -c, --timeout) before or after the
// command; --version; usage errors exit 1 (not CLI11's own codes); -c CONFIG finds the
// socket; replies print as documented, with the documented exit status.
#include "resolver/control/ctl_cli.h"
#include "util/base64.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sinkhole/version.h"

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

// Parses argv as sinkholectl would; no request when it stops there (usage error, --help,
// --version), with the exit status and what it printed.
struct Parsed {
  std::optional<Request> request;
  std::string socket;
  std::chrono::milliseconds timeout{0};
  std::optional<int> exit;
  std::string out, err;
};
Parsed parse(std::vector<std::string> args) {
  CLI::App app{"sinkholectl", "sinkholectl"};
  CtlCli cli(app);
  std::ostringstream out, err;
  Parsed p;
  p.exit = parse_command_line(app, std::move(args), out, err);
  p.out = out.str();
  p.err = err.str();
  if (p.exit) return p;
  p.request = cli.request();
  p.socket = cli.target().socket;
  p.timeout = cli.timeout();
  return p;
}

// A configuration file in the temporary directory, removed at the end of the test.
struct TempConfig {
  std::string path;
  explicit TempConfig(const std::string& yaml) {
    char dir[] = "/tmp/sinkholectl-test-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    path = std::string(dir) + "/sinkholed.yaml";
    std::ofstream(path) << yaml;
  }
  ~TempConfig() {
    std::remove(path.c_str());
    ::rmdir(path.substr(0, path.rfind('/')).c_str());
  }
};

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
  CHECK(help.find(kExitStatusHelp) != std::string::npos);
  for (const char* line :
       {"  0  ok", "  1  failed", "error on the command line", "  2  no server", "--timeout",
        "  3  explain: the name is blocked", "  4  explain: the client is refused"})
    CHECK(help.find(line) != std::string::npos);
  for (const char* option : {"--socket", "--config", "--timeout", "--json", "--version"})
    CHECK(help.find(option) != std::string::npos);
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

  p = parse({"policies"});
  REQUIRE(p.request);
  CHECK(p.request->id == CommandId::kPolicies);

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
                                                                {"cache", "flush"},
                                                                {"policies", "--json"}}) {
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

TEST_CASE("command lines CLI11 refuses exit 1, the documented usage status") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},                                 // a command is required
           {"explain"},                        // NAME is required
           {"cache"},                          // cache needs flush
           {"reboot"},                         // not in the table
           {"status", "extra"},                // no positional
           {"explain", "a", "--cleint", "x"},  // misspelt option
           {"--timeout", "soon", "status"},    // not a duration
           {"--timeout", "0s", "status"},      // not more than zero
           {"stats", "--socket"},              // an option without its value
       }) {
    CAPTURE(args.size() > 0 ? args[0] : "(none)");
    const auto p = parse(args);
    CHECK_FALSE(p.request);
    REQUIRE(p.exit);
    CHECK(*p.exit == kExitFailed);  // not CLI11's 106, 109, 114...
    CHECK_FALSE(p.err.empty());
  }
  const auto help = parse({"--help"});
  REQUIRE(help.exit);
  CHECK(*help.exit == kExitOk);
  CHECK(help.out.find("Exit status:") != std::string::npos);
  const auto sub_help = parse({"explain", "--help"});
  REQUIRE(sub_help.exit);
  CHECK(*sub_help.exit == kExitOk);
}

TEST_CASE("--json before the command and after every command") {
  auto p = parse({"--json", "status"});
  REQUIRE(p.request);
  CHECK(p.request->json);
  CHECK(p.request->id == CommandId::kStatus);
  p = parse({"status"});
  REQUIRE(p.request);
  CHECK_FALSE(p.request->json);
  for (const Command& c : commands()) {
    CAPTURE(c.name);
    std::vector<std::string> words;
    for (size_t at = 0;;) {
      const size_t space = c.name.find(' ', at);
      words.emplace_back(c.name.substr(at, space - at));
      if (space == std::string_view::npos) break;
      at = space + 1;
    }
    for (const Argument& a : c.arguments)
      if (a.required || (!a.alternative.empty() && a.option.empty()))  // FILE|--from-feed
        words.emplace_back("x.example");
    for (const bool global : {false, true}) {
      auto args = words;
      if (global)
        args.insert(args.begin(), "--json");
      else
        args.emplace_back("--json");
      const auto q = parse(args);
      REQUIRE(q.request);
      CHECK(q.request->id == c.id);
      CHECK(q.request->json);
    }
    // Flags of the command and --json in either order.
    for (const Argument& a : c.arguments) {
      if (!a.flag || !a.alternative.empty()) continue;  // --from-feed: in place of FILE
      auto args = words;
      args.emplace_back("--json");
      args.emplace_back(std::string(a.option.substr(a.option.rfind("--"))));
      const auto q = parse(args);
      REQUIRE(q.request);
      CHECK(q.request->json);
      CHECK(q.request->arg(a.key) == "true");
    }
  }
}

TEST_CASE("list stage LIST FILE|--from-feed: one of the two, not both, not neither") {
  auto p = parse({"list", "stage", "mic", "--from-feed"});
  REQUIRE(p.request);
  CHECK(p.request->id == CommandId::kListStage);
  CHECK(p.request->arg("list") == "mic");
  CHECK(p.request->arg("from_feed") == "true");
  CHECK(p.request->arg("file").empty());
  CHECK(p.timeout == kDefaultReloadTimeout);  // answers when the staged build is done
  p = parse({"list", "stage", "mic", "next.txt"});
  REQUIRE(p.request);
  CHECK(p.request->arg("file") == "next.txt");
  CHECK(p.request->arg("from_feed").empty());
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list", "stage", "mic", "next.txt", "--from-feed"},
           {"list", "stage", "mic", "--from-feed", "next.txt"},
           {"list", "stage", "mic"},
       }) {
    CAPTURE(args.size());
    const auto q = parse(args);
    CHECK_FALSE(q.request);
    REQUIRE(q.exit);
    CHECK(*q.exit == kExitFailed);
    CHECK(q.err.find("from-feed") != std::string::npos);
  }
  const auto help = parse({"list", "stage", "--help"});
  REQUIRE(help.exit);
  CHECK(help.out.find("--from-feed") != std::string::npos);
}

TEST_CASE("--version prints the project's version and exits 0") {
  for (const char* flag : {"--version", "-V"}) {
    const auto p = parse({flag});
    REQUIRE(p.exit);
    CHECK(*p.exit == kExitOk);
    CHECK(p.out == std::string("sinkholectl ") + sinkhole::kVersion + "\n");
  }
}

TEST_CASE("global options after the command; timeouts by command") {
  auto p = parse({"status"});
  REQUIRE(p.request);
  CHECK(p.timeout == kDefaultTimeout);
  CHECK(p.timeout == std::chrono::seconds(5));
  p = parse({"reload"});
  REQUIRE(p.request);
  CHECK(p.timeout == kDefaultReloadTimeout);  // a reload answers when its lists are built
  p = parse({"--timeout", "250ms", "reload"});
  REQUIRE(p.request);
  CHECK(p.timeout == std::chrono::milliseconds(250));
  p = parse({"reload", "--force", "--timeout", "10m", "-s", "/tmp/a.sock"});
  REQUIRE(p.request);
  CHECK(p.timeout == std::chrono::minutes(10));
  CHECK(p.socket == "/tmp/a.sock");
  CHECK(p.request->arg("force") == "true");
  p = parse({"cache", "flush", "--timeout", "2s"});
  REQUIRE(p.request);
  CHECK(p.timeout == std::chrono::seconds(2));
}

TEST_CASE("-c CONFIG: the socket is the configuration's control.socket; -s wins") {
  TempConfig cfg("upstreams: [127.0.0.1:5300]\ncontrol:\n  socket: /tmp/elsewhere/ctl.sock\n");
  auto p = parse({"-c", cfg.path, "status"});
  REQUIRE(p.request);
  CHECK(p.socket == "/tmp/elsewhere/ctl.sock");
  p = parse({"status", "--config", cfg.path});
  REQUIRE(p.request);
  CHECK(p.socket == "/tmp/elsewhere/ctl.sock");
  p = parse({"-c", cfg.path, "-s", "/tmp/given.sock", "status"});
  REQUIRE(p.request);
  CHECK(p.socket == "/tmp/given.sock");
  // explain's own option is --client; -c after explain is still the configuration.
  p = parse({"explain", "a.example", "-c", cfg.path});
  REQUIRE(p.request);
  CHECK(p.request->arg("client") == "");
  CHECK(p.socket == "/tmp/elsewhere/ctl.sock");

  TempConfig plain("upstreams: [127.0.0.1:5300]\n");
  p = parse({"-c", plain.path, "status"});
  REQUIRE(p.request);
  CHECK(p.socket == kDefaultSocket);  // the server's default, as the loader says

  auto target_of = [](const std::vector<std::string>& args) {
    CLI::App app{"sinkholectl", "sinkholectl"};
    CtlCli cli(app);
    std::ostringstream out, err;
    REQUIRE_FALSE(parse_command_line(app, args, out, err));
    return cli.target();
  };
  TempConfig broken("upstreams: [127.0.0.1:5300]\ncontrol:\n  sokcet: /x.sock\n");
  auto t = target_of({"-c", broken.path, "status"});
  CHECK(t.socket.empty());
  CHECK(t.exit == kExitFailed);
  CHECK(t.error.find(broken.path + ":3:3: unknown key 'sokcet'") != std::string::npos);
  t = target_of({"-c", "/nonexistent/sinkholed.yaml", "status"});
  CHECK(t.socket.empty());
  CHECK(t.exit == kExitFailed);
  TempConfig off("upstreams: [127.0.0.1:5300]\ncontrol:\n  socket: \"\"\n");
  t = target_of({"-c", off.path, "status"});
  CHECK(t.socket.empty());
  CHECK(t.exit == kExitUnreachable);
  CHECK(t.error.find("turns the control socket off") != std::string::npos);
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

TEST_CASE("list push FILE: the file's bytes go in the request (name:base64), not its path") {
  char path[] = "/tmp/sinkholectl-upload-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string content = std::string("a.example\nb.example\n\x01\xff", 22);
  REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  ::close(fd);
  auto p = parse({"list", "push", "ads", path});
  REQUIRE(p.request);
  CHECK(p.request->id == CommandId::kListPush);
  Request r = *p.request;
  std::string error;
  REQUIRE(attach_uploads(r, &error));
  const std::string v = r.arg("file");
  const std::string base = std::string(path).substr(5);  // after "/tmp/"
  CHECK(v.substr(0, v.rfind(':')) == base);
  CHECK(sinkhole::util::base64_decode(v.substr(v.rfind(':') + 1)) ==
        std::optional<std::string>(content));
  CHECK(r.arg("list") == "ads");
  ::unlink(path);
  r.args["file"] = "/nonexistent/list.txt";
  CHECK_FALSE(attach_uploads(r, &error));
  CHECK(error.find("/nonexistent/list.txt") != std::string::npos);
}
