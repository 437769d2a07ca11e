// SPDX-License-Identifier: MIT
// The command table and its protocol: every row well formed, synopses as the usage shows
// them, requests checked against the table (unknown commands and arguments, missing
// required ones, wrong types, lines that are not JSON), replies that survive the wire.
#include "resolver/control/command_table.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace {

using namespace sinkhole::control;

ParsedRequest parse(const std::string& line) {
  return parse_request(line);
}

}  // namespace

TEST_CASE("the table: one row per id, unique names, one-line help") {
  std::set<std::string_view> names;
  std::set<CommandId> ids;
  for (const Command& c : commands()) {
    CAPTURE(c.name);
    CHECK(names.insert(c.name).second);
    CHECK(ids.insert(c.id).second);
    CHECK(&command(c.id) == &c);
    CHECK(find_command(c.name) == &c);
    CHECK_FALSE(c.help.empty());
    CHECK(c.help.find('\n') == std::string_view::npos);
    for (const Argument& a : c.arguments) {
      CHECK_FALSE(a.key.empty());
      CHECK(a.value.empty() == a.flag);  // a flag takes no value
      CHECK_FALSE(a.help.empty());
    }
  }
  CHECK(commands().size() == kCommandCount);
  CHECK(find_command("reboot") == nullptr);
  // The commands the README and sinkholectl document.
  for (const char* n : {"reload", "status", "stats", "lists", "explain", "cache flush", "policies",
                        "upstreams", "config show", "list push", "block", "unblock", "list stage",
                        "list diff", "list promote", "list unstage"})
    CHECK(find_command(n) != nullptr);
}

TEST_CASE("synopsis: positionals, options, optional ones in brackets") {
  CHECK(synopsis(command(CommandId::kStatus)) == "status");
  CHECK(synopsis(command(CommandId::kExplain)) == "explain NAME [--client IP]");
  CHECK(synopsis(command(CommandId::kCacheFlush)) == "cache flush [NAME]");
  CHECK(synopsis(command(CommandId::kReload)) == "reload [--force]");
  CHECK(synopsis(command(CommandId::kPolicies)) == "policies");
  CHECK(
      all_synopses() ==
      "reload [--force], status, stats, lists, explain NAME [--client IP], cache flush [NAME], "
      "policies, upstreams, config show, list push LIST FILE, block NAME [--list L] "
      "[--reason TEXT], unblock NAME [--list L] [--reason TEXT], list stage LIST FILE|--from-feed, "
      "list diff LIST, list promote LIST, list unstage LIST");
  // Only the commands that carry a file may send a long request; those that build wait
  // like a reload.
  CHECK(has_upload(command(CommandId::kListPush)));
  CHECK(has_upload(command(CommandId::kListStage)));
  CHECK_FALSE(has_upload(command(CommandId::kBlock)));
  CHECK(waits_for_build(CommandId::kBlock));
  CHECK_FALSE(waits_for_build(CommandId::kListDiff));
}

TEST_CASE("a request goes over the wire and back unchanged") {
  Request r;
  r.id = CommandId::kExplain;
  r.args = {{"name", "WWW.Example.COM."}, {"client", "2001:db8::1"}};
  r.json = true;
  const std::string line = to_line(r);
  CHECK(line.find('\n') == std::string::npos);
  const auto back = parse(line);
  REQUIRE(back.request);
  CHECK(back.request->id == CommandId::kExplain);
  CHECK(back.request->arg("name") == "WWW.Example.COM.");
  CHECK(back.request->arg("client") == "2001:db8::1");
  CHECK(back.request->arg("absent") == "");
  CHECK(back.request->json);
  for (const Command& c : commands()) {
    Request each;
    each.id = c.id;
    for (const Argument& a : c.arguments)
      if (a.required) each.args.emplace(std::string(a.key), "x.example");
    const auto p = parse(to_line(each));
    CAPTURE(c.name);
    REQUIRE(p.request);
    CHECK(p.request->id == c.id);
    CHECK_FALSE(p.request->json);
  }
}

TEST_CASE("requests are checked against the table") {
  struct Case {
    const char* line;
    const char* error;  // a part of it
  };
  const Case cases[] = {
      {"status", "not a request"},  // the old word protocol
      {"", "not a request"},
      {"[\"status\"]", "not a request"},
      {R"({"args":{}})", "not a request"},
      {R"({"command":7})", "not a request"},
      {R"({"command":"reboot"})", "unknown command 'reboot' (reload [--force], status,"},
      {R"({"command":"reload","args":{"force":"yes"}})", "reload: force must be"},
      {R"({"command":"cache"})", "unknown command 'cache'"},
      {R"({"command":"explain"})", "explain: NAME is required (usage: explain NAME [--client IP])"},
      {R"({"command":"explain","args":{"name":""}})", "NAME is required"},
      {R"({"command":"explain","args":{"name":"a.example","cleint":"1.2.3.4"}})",
       "explain: unknown argument 'cleint'"},
      {R"({"command":"status","args":{"name":"x"}})", "status: unknown argument 'name'"},
      {R"({"command":"explain","args":{"name":5}})", "explain: name must be a string"},
      {R"({"command":"status","args":[]})", "\"args\" must be an object"},
      {R"({"command":"status","json":"yes"})", "\"json\" must be true or false"},
      {"{\"command\":\"status\"", "not a request"},   // truncated
      {"{\"command\":\"st\xff\"}", "not a request"},  // not UTF-8
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    const auto p = parse(c.line);
    CHECK_FALSE(p.request);
    CHECK(p.error.find(c.error) != std::string::npos);
  }
  const auto ok = parse(R"({"command":"cache flush","args":{"name":"MiXeD.Example"}})");
  REQUIRE(ok.request);
  CHECK(ok.request->id == CommandId::kCacheFlush);
  CHECK(ok.request->arg("name") == "MiXeD.Example");
  CHECK(parse(R"({"command":"cache flush"})").request);
}

TEST_CASE("replies: ok with text or result, failures with error and text") {
  const auto text = parse_reply(to_line(text_reply("two\nlines\n")));
  REQUIRE(text);
  CHECK(text->ok);
  CHECK(text->text == "two\nlines\n");
  CHECK(text->result.is_null());

  const auto json = parse_reply(to_line(json_reply({{"generation", 3}, {"name", "a\"b\\c"}})));
  REQUIRE(json);
  CHECK(json->ok);
  CHECK(json->result["generation"] == 3);
  CHECK(json->result["name"] == "a\"b\\c");

  const auto failed = parse_reply(to_line(failure("'x' is not valid")));
  REQUIRE(failed);
  CHECK_FALSE(failed->ok);
  CHECK(failed->error == "'x' is not valid");
  CHECK(failed->text == "error: 'x' is not valid\n");
  CHECK(to_line(failure("e")) == R"({"ok":false,"error":"e","text":"error: e\n"})");

  const auto worded = parse_reply(to_line(failure("bad yaml", "failed: bad yaml\n")));
  REQUIRE(worded);
  CHECK(worded->text == "failed: bad yaml\n");

  // Bytes that are not UTF-8 (a name as typed) are replaced, the reply still goes out.
  const std::string line = to_line(failure("'\xff.example' is not a valid name"));
  CHECK(parse_reply(line));

  // A reply may name the exit status sinkholectl ends with; 0 is not sent.
  Reply blocked = text_reply("blocked\n");
  blocked.exit = 3;
  CHECK(to_line(blocked) == R"({"ok":true,"text":"blocked\n","exit":3})");
  REQUIRE(parse_reply(to_line(blocked)));
  CHECK(parse_reply(to_line(blocked))->exit == 3);
  CHECK(to_line(text_reply("x")).find("exit") == std::string::npos);
  CHECK(parse_reply(R"({"ok":true,"exit":300})")->exit == 0);
  CHECK(parse_reply(R"({"ok":true,"exit":"3"})")->exit == 0);

  CHECK_FALSE(parse_reply("error: the old text protocol"));
  CHECK_FALSE(parse_reply(R"({"text":"no ok"})"));
  CHECK_FALSE(parse_reply(""));
}
