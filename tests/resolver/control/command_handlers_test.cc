// SPDX-License-Identifier: MIT
// The server's side of the command table: every row is dispatched to a handler, and each
// handler answers in text and JSON — status, stats, lists, explain (and its errors), cache
// flush (all, one name, cache off), reload (done, failed), policies — over the same request
// lines sinkholectl sends.
#include "resolver/control/command_handlers.h"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "resolver/dns/name.h"
#include "resolver/feeds/feed_manager.h"
#include "resolver/observe/health_monitor.h"
#include "tests/resolver/observe/server_fixture.h"
#include "util/base64.h"
#include "util/read_file.h"

namespace {

using namespace sinkhole::control;
using sinkhole::test::ServerFixture;

constexpr const char* kYaml = R"(upstreams: [127.0.0.1:5300]
lists:
  casino: { path: casino.txt, category: gambling }
policies:
  - name: subscribers
    clients: [192.0.2.0/24]
    block: [casino]
default_policy: subscribers
)";

struct Harness {
  ServerFixture f;
  CommandContext ctx;
  std::vector<Reloader::Done> reloads;  // requested, not yet finished
  std::vector<bool> forced;             // each request's --force
  uv_loop_t loop{};
  std::unique_ptr<sinkhole::feeds::FeedManager> feeds;

  explicit Harness(bool with_cache = false)
      : f(kYaml, {{"casino.txt", "casino.example\n"}}, with_cache) {
    uv_loop_init(&loop);
    feeds = std::make_unique<sinkhole::feeds::FeedManager>(&loop, f.tmp.path("state"),
                                                           f.tmp.path("audit.log"));
    ::mkdir(f.tmp.path("state").c_str(), 0750);
    ctx.feeds = feeds.get();
    ctx.state = &f.state;
    ctx.reload = [this](bool force, Reloader::Done done) {
      reloads.push_back(std::move(done));
      forced.push_back(force);
    };
    ctx.now_unix = [] { return int64_t{1'700'000'060}; };
    ctx.config = [this]() -> const sinkhole::config::Config& { return f.cfg; };
  }
  ~Harness() {
    feeds.reset();
    uv_run(&loop, UV_RUN_DEFAULT);  // runs the close callbacks of the feed manager's handles
    uv_loop_close(&loop);
  }

  // The reply to one request line, when it came at once.
  std::optional<Reply> ask(const std::string& line) {
    std::optional<Reply> out;
    int calls = 0;
    dispatch(ctx, line, [&](const Reply& r) {
      ++calls;
      out = r;
    });
    CHECK(calls <= 1);
    return out;
  }
  std::optional<Reply> ask(CommandId id, std::map<std::string, std::string, std::less<>> args = {},
                           bool json = false) {
    Request r;
    r.id = id;
    r.args = std::move(args);
    r.json = json;
    return ask(to_line(r));
  }
};

}  // namespace

TEST_CASE("every command of the table is dispatched by the server, in text and JSON") {
  for (const Command& c : commands()) {
    CAPTURE(c.name);
    CHECK(has_handler(c.id));
    for (bool json : {false, true}) {
      Harness h(/*with_cache=*/true);
      Request r;
      r.id = c.id;
      r.json = json;
      for (const Argument& a : c.arguments)
        if (a.required || (!a.alternative.empty() && a.option.empty()))  // FILE|--from-feed
          r.args.emplace(std::string(a.key), a.key == "list" ? "casino"
                                             : a.upload
                                                 ? "new.txt:" + sinkhole::util::base64_encode(
                                                                    "casino.example\nnew.example\n")
                                                 : "casino.example");
      std::optional<Reply> reply;
      dispatch(h.ctx, to_line(r), [&](const Reply& x) { reply = x; });
      if (waits_for_build(c.id) && !reply) {  // answers when the build ends
        REQUIRE(h.reloads.size() == 1);
        Reloader::Outcome o{true, 2, "1 list(s)", 0.25, {}};
        o.candidates = {"casino"};
        h.reloads.front()(o);
      }
      REQUIRE(reply);
      // Those about a staged version fail without one, saying so.
      if (c.id == CommandId::kListStage || c.id == CommandId::kListDiff ||
          c.id == CommandId::kListPromote || c.id == CommandId::kListUnstage) {
        CHECK_FALSE(reply->ok);
        CHECK(reply->error.find("staged") != std::string::npos);
        continue;
      }
      CHECK(reply->ok);
      CHECK(reply->error.empty());
      if (json)
        CHECK_FALSE(reply->result.is_null());
      else
        CHECK_FALSE(reply->text.empty());
    }
  }
}

TEST_CASE("a line that is not a request, or an unknown command, gets a failure reply") {
  Harness h;
  auto r = h.ask("status");
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->text.rfind("error: not a request", 0) == 0);
  r = h.ask(R"({"command":"reboot"})");
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->error ==
        "unknown command 'reboot' (reload [--force], status, stats, lists, explain NAME "
        "[--client IP], cache flush [NAME], policies, upstreams, config show, list push LIST FILE, "
        "block NAME [--list L] "
        "[--reason TEXT], unblock NAME [--list L] [--reason TEXT], list stage LIST "
        "FILE|--from-feed, list diff "
        "LIST, list promote LIST, list unstage LIST)");
}

TEST_CASE("config show: the configuration in service, defaults marked, in text and JSON") {
  Harness h;
  const auto loaded = sinkhole::config::parse_config(
      "server:\n  workers: 2\nupstreams: [192.0.2.1]\n", "live.yaml", "/nonexistent/resolv.conf");
  REQUIRE(loaded.config);
  h.f.cfg = *loaded.config;
  auto r = h.ask(CommandId::kConfigShow);
  REQUIRE(r);
  CHECK(r->ok);
  CHECK(r->text.rfind("# live.yaml: ", 0) == 0);
  CHECK(r->text.find("\nserver.workers: 2\n") != std::string::npos);
  CHECK(r->text.find("\nserver.udp_payload: 1232  # default\n") != std::string::npos);
  CHECK(r->text.find("\nupstreams: [\"192.0.2.1:53\"]\n") != std::string::npos);
  r = h.ask(CommandId::kConfigShow, {}, /*json=*/true);
  REQUIRE(r);
  CHECK(r->result["settings"]["server.workers"]["value"] == 2);
  CHECK(r->result["settings"]["server.workers"]["default"] == false);
  CHECK(r->result["settings"]["log.level"]["value"] == "info");
  CHECK(r->result["settings"]["log.level"]["default"] == true);
  // A server that keeps no configuration answers with a failure, not a crash.
  h.ctx.config = nullptr;
  r = h.ask(CommandId::kConfigShow);
  REQUIRE(r);
  CHECK_FALSE(r->ok);
}

TEST_CASE("reload: the new generation, or why it failed, when the build ends") {
  Harness h;
  std::vector<Reply> replies;
  Request r;
  r.id = CommandId::kReload;
  dispatch(h.ctx, to_line(r), [&](const Reply& x) { replies.push_back(x); });
  r.json = true;
  dispatch(h.ctx, to_line(r), [&](const Reply& x) { replies.push_back(x); });
  REQUIRE(h.reloads.size() == 2);
  CHECK(h.forced == std::vector<bool>{false, false});
  CHECK(replies.empty());
  h.reloads[0]({true, 2, "1 list(s), 1 entries", 0.0125, {}});
  h.reloads[1]({false, 1, "cfg.yaml:3:1: bad", 0.01, {}});
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].ok);
  CHECK(replies[0].text == "ok: generation 2 in service: 1 list(s), 1 entries (0.013 s)\n");
  CHECK_FALSE(replies[1].ok);
  CHECK(replies[1].error == "cfg.yaml:3:1: bad (generation 1 still in service)");
  CHECK(replies[1].text == "failed: cfg.yaml:3:1: bad (generation 1 still in service)\n");
}

TEST_CASE("reload: the strict checks' warnings come with the reply, counted") {
  Harness h;
  std::vector<Reply> replies;
  Request r;
  r.id = CommandId::kReload;
  dispatch(h.ctx, to_line(r), [&](const Reply& x) { replies.push_back(x); });
  r.json = true;
  dispatch(h.ctx, to_line(r), [&](const Reply& x) { replies.push_back(x); });
  REQUIRE(h.reloads.size() == 2);
  const std::vector<std::string> w = {
      "cfg.yaml:4:5: list 'x' is not used [unused-list]",
      "cfg.yaml:9:3: policy 'p' has no clients [policy-no-clients]"};
  h.reloads[0]({true, 3, "2 list(s)", 0.5, w});
  h.reloads[1]({true, 3, "2 list(s)", 0.5, w});
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].text == "ok: generation 3 in service: 2 list(s) (0.500 s)\nwarnings: 2\n  " +
                               w[0] + "\n  " + w[1] + "\n");
  REQUIRE(replies[1].result["warnings"].size() == 2);
  CHECK(replies[1].result["warnings"][1] == w[1]);
}

TEST_CASE("reload --force reaches the reloader; a flag is true or false") {
  Harness h;
  CHECK_FALSE(h.ask(R"({"command":"reload","args":{"force":"true"}})"));  // answers later
  CHECK_FALSE(h.ask(R"({"command":"reload","args":{"force":"false"}})"));
  CHECK(h.forced == std::vector<bool>{true, false});
  const auto bad = h.ask(R"({"command":"reload","args":{"force":"yes"}})");
  REQUIRE(bad);
  CHECK_FALSE(bad->ok);
  CHECK(bad->error == "reload: force must be \"true\" or \"false\"");
}

TEST_CASE("status and lists answer from the server state") {
  Harness h;
  auto r = h.ask(CommandId::kStatus);
  REQUIRE(r);
  CHECK(r->text.rfind("sinkholed running for 60 s, 0 worker(s)\n", 0) == 0);
  r = h.ask(CommandId::kStatus, {}, true);
  REQUIRE(r);
  CHECK(r->result["generation"] == 1);
  CHECK(r->result["lists"][0]["name"] == "casino");
  r = h.ask(CommandId::kLists, {}, true);
  REQUIRE(r);
  REQUIRE(r->result.is_array());
  CHECK(r->result[0]["category"] == "gambling");
}

TEST_CASE("policies: groups with their CIDRs, allow lists and block rules, in order") {
  Harness h;
  auto r = h.ask(CommandId::kPolicies);
  REQUIRE(r);
  CHECK(r->ok);
  CHECK(r->text.find("1. policy subscribers (default_policy)\n"
                     "   clients  192.0.2.0/24\n"
                     "   allow    (none)\n"
                     "   block    1. casino (category gambling): nxdomain, by default\n") !=
        std::string::npos);
  CHECK(r->text.find("clients in no policy: policy subscribers (default_policy)\n") !=
        std::string::npos);
  r = h.ask(CommandId::kPolicies, {}, true);
  REQUIRE(r);
  REQUIRE(r->result["policies"].size() == 1);
  const auto& p = r->result["policies"][0];
  CHECK(p["name"] == "subscribers");
  CHECK(p["clients"] == nlohmann::ordered_json::array({"192.0.2.0/24"}));
  CHECK(p["block"][0]["list"] == "casino");
  CHECK(p["block"][0]["action"] == "nxdomain");
  CHECK(p["block"][0]["action_from"] == "default");
  CHECK(r->result["unmatched_clients"] == "subscribers");
}

TEST_CASE("explain: text, JSON with file and line, and its errors") {
  Harness h;
  auto r = h.ask(CommandId::kExplain, {{"name", "WWW.Casino.Example."}, {"client", "192.0.2.9"}});
  REQUIRE(r);
  CHECK(r->ok);
  CHECK(r->text.rfind("www.casino.example: BLOCKED by list casino (category gambling) at ", 0) ==
        0);
  CHECK(r->text.find("(client 192.0.2.9, policy subscribers)") != std::string::npos);
  CHECK(r->exit == 3);  // sinkholectl exits 3: blocked
  r = h.ask(CommandId::kExplain, {{"name", "casino.example"}}, true);
  REQUIRE(r);
  CHECK(r->exit == 3);
  CHECK(r->result["verdict"] == "blocked");
  CHECK(r->result["assumed"] == true);  // the only policy, the default: assumed, and said
  CHECK(r->result["file"] == h.f.tmp.path("casino.txt"));
  CHECK(r->result["line"] == 1);
  CHECK(r->result["client"] == "");

  r = h.ask(CommandId::kExplain, {{"name", "casino.example"}, {"client", "not-an-ip"}});
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->text == "error: 'not-an-ip' is not an IPv4 or IPv6 address\n");
  r = h.ask(CommandId::kExplain, {{"name", "bad..name"}}, true);
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->error.rfind("bad..name: not a valid name: ", 0) == 0);
  CHECK(r->text.rfind("error: bad..name: not a valid name: ", 0) == 0);
}

TEST_CASE("cache flush: everything, one name, or a failure when the cache is off") {
  Harness off;
  auto r = off.ask(CommandId::kCacheFlush);
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->text == "error: the cache is off (cache.max_bytes: 0)\n");

  Harness h(/*with_cache=*/true);
  r = h.ask(CommandId::kCacheFlush);
  REQUIRE(r);
  CHECK(r->ok);
  CHECK(r->text == "ok: cache flushed (0 entries)\n");
  r = h.ask(CommandId::kCacheFlush, {{"name", "WWW.Example.test"}});
  REQUIRE(r);
  CHECK(r->text == "ok: 0 entries for WWW.Example.test removed\n");
  r = h.ask(CommandId::kCacheFlush, {{"name", "news.example"}}, true);
  REQUIRE(r);
  CHECK(r->result == nlohmann::ordered_json{{"name", "news.example"}, {"removed", 0}});
  r = h.ask(CommandId::kCacheFlush, {{"name", "bad..name"}});
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->error == "'bad..name' is not a valid name");
}

TEST_CASE("status exits 1 after a failed reload and 0 after a good one; upstreams in it") {
  Harness h;
  h.f.cfg.upstream.servers = {*sinkhole::config::SocketAddress::parse("127.0.0.1:5300", 53),
                              *sinkhole::config::SocketAddress::parse("[::1]:5301", 53)};
  sinkhole::observe::HealthMonitor health(h.f.state, 1000);
  health.tick(2000);
  h.f.state.health = &health;
  auto r = h.ask(CommandId::kStatus);
  REQUIRE(r);
  CHECK(r->exit == 0);
  CHECK(r->text.find("upstreams:\n  127.0.0.1:5300           up") != std::string::npos);
  h.f.reloads.record_failure("sinkholed.yaml:3:1: bad indentation");
  for (bool json : {false, true}) {
    r = h.ask(CommandId::kStatus, {}, json);
    REQUIRE(r);
    CHECK(r->ok);
    CHECK(r->exit == 1);
  }
  CHECK(r->result["upstreams"][1]["address"] == "[::1]:5301");
  CHECK(r->result["upstreams"][1]["state"] == "up");
  h.f.reloads.record_success(0.1);
  r = h.ask(CommandId::kStatus);
  REQUIRE(r);
  CHECK(r->exit == 0);
}

TEST_CASE("upstreams: one row per upstream, in text and JSON") {
  Harness h;
  h.f.cfg.upstream.servers = {*sinkhole::config::SocketAddress::parse("127.0.0.1:5300", 53)};
  auto r = h.ask(CommandId::kUpstreams);
  REQUIRE(r);
  CHECK(r->text == "upstreams: not monitored\n");
  sinkhole::observe::HealthMonitor health(h.f.state, 1000);
  h.f.state.health = &health;
  r = h.ask(CommandId::kUpstreams);
  REQUIRE(r);
  CHECK(r->text.rfind("upstreams: no state yet", 0) == 0);
  health.tick(2000);
  r = h.ask(CommandId::kUpstreams);
  REQUIRE(r);
  CHECK(r->text.rfind("127.0.0.1:5300           up   for ", 0) == 0);
  CHECK(r->text.find("rtt        -  queries 0 answers 0 timeouts 0 errors 0\n") !=
        std::string::npos);
  r = h.ask(CommandId::kUpstreams, {}, true);
  REQUIRE(r);
  REQUIRE(r->result.size() == 1);
  CHECK(r->result[0]["state"] == "up");
  CHECK(r->result[0]["last_error"].is_null());
}

TEST_CASE("reload names the settings that need a restart; status then exits 1") {
  Harness h;
  auto status = h.ask(CommandId::kStatus);
  REQUIRE(status);
  CHECK(status->exit == 0);

  std::optional<Reply> reply;
  dispatch(h.ctx, to_line(Request{CommandId::kReload, {}, false}),
           [&](const Reply& r) { reply = r; });
  REQUIRE(h.reloads.size() == 1);
  Reloader::Outcome o{true, 7, "1 list(s)", 0.25};
  o.applied = {"upstreams"};
  o.restart_required = {"server.listen", "server.workers"};
  h.f.reloads.record_success(0.25, {}, o.restart_required);  // as the Reloader does
  h.reloads.front()(o);
  REQUIRE(reply);
  CHECK(reply->ok);
  CHECK(reply->text ==
        "ok: generation 7 in service: 1 list(s) (0.250 s); restart required: server.listen, "
        "server.workers\n");

  std::optional<Reply> json;
  dispatch(h.ctx, to_line(Request{CommandId::kReload, {}, true}),
           [&](const Reply& r) { json = r; });
  h.reloads.back()(o);
  REQUIRE(json);
  CHECK(json->result["restart_required"] ==
        nlohmann::ordered_json::array({"server.listen", "server.workers"}));
  CHECK(json->result["applied"] == nlohmann::ordered_json::array({"upstreams"}));

  status = h.ask(CommandId::kStatus);
  REQUIRE(status);
  CHECK(status->ok);
  CHECK(status->exit == 1);
  CHECK(status->text.find("restart required: server.listen, server.workers") != std::string::npos);
  status = h.ask(CommandId::kStatus, {}, /*json=*/true);
  REQUIRE(status);
  CHECK(status->exit == 1);
}

TEST_CASE("block / unblock: the overrides file edited, audited, answered after the build") {
  Harness h;
  const std::string file = h.f.tmp.path("state/lists/local-overrides/current");
  CHECK_FALSE(h.ask(CommandId::kBlock, {{"name", "Bad.Example."}, {"reason", "order 1"}}));
  REQUIRE(h.reloads.size() == 1);
  auto text = sinkhole::util::read_file(file, nullptr);
  REQUIRE(text);
  CHECK(text->find("block\tbad.example\t*\torder 1\n") != std::string::npos);
  std::optional<Reply> reply;
  h.reloads.clear();
  // Garbage names and unknown scopes: refused at once, nothing built.
  for (const char* bad : {"not a name", "*.example", "com"}) {
    reply = h.ask(CommandId::kBlock, {{"name", bad}});
    REQUIRE(reply);
    CHECK_FALSE(reply->ok);
  }
  reply = h.ask(CommandId::kUnblock, {{"name", "x.example"}, {"list", "nosuch"}});
  REQUIRE(reply);
  CHECK_FALSE(reply->ok);
  CHECK(h.reloads.empty());

  Request r;
  r.id = CommandId::kUnblock;
  r.args = {{"name", "bad.example"}};
  dispatch(h.ctx, to_line(r), [&](const Reply& x) { reply = x; });
  REQUIRE(h.reloads.size() == 1);
  h.reloads.front()({true, 3, "2 list(s)", 0.01, {}});
  REQUIRE(reply);
  CHECK(reply->ok);
  CHECK(reply->text.find("unblock bad.example (every policy): local block removed") !=
        std::string::npos);
  text = sinkhole::util::read_file(file, nullptr);
  CHECK(text->find("bad.example") == std::string::npos);
  const auto audit = sinkhole::util::read_file(h.f.tmp.path("audit.log"), nullptr);
  REQUIRE(audit);
  CHECK(audit->find("\"event\":\"blocked\",\"source\":\"override\",\"who\":\"ctl\"") !=
        std::string::npos);
  CHECK(audit->find("\"name\":\"bad.example\",\"reason\":\"order 1\"") != std::string::npos);
  CHECK(audit->find("\"event\":\"unblocked\"") != std::string::npos);
}

TEST_CASE("list push: the bytes become the candidate; the reply waits for the build") {
  Harness h;
  const std::string bytes = "casino.example\nnew.example\n";
  CHECK_FALSE(
      h.ask(CommandId::kListPush,
            {{"list", "casino"}, {"file", "x.txt:" + sinkhole::util::base64_encode(bytes)}}));
  REQUIRE(h.reloads.size() == 1);
  CHECK(sinkhole::util::read_file(h.f.tmp.path("state/lists/casino/candidate"), nullptr) ==
        std::optional<std::string>(bytes));
  CHECK(h.feeds->candidates().count("casino") == 1);
  const auto meta = h.feeds->store().meta("casino", "candidate");
  REQUIRE(meta);
  CHECK(meta->who == "ctl");
  CHECK(meta->origin == "x.txt");
  CHECK_FALSE(meta->over_file.empty());  // a file list: the push holds until the file changes
  std::optional<Reply> reply;
  Request r;
  r.id = CommandId::kListPush;
  r.args = {{"list", "casino"}, {"file", "y.txt:"}};  // empty: the guard refuses it
  dispatch(h.ctx, to_line(r), [&](const Reply& x) { reply = x; });
  Reloader::Outcome refused{false, 1, "list casino: no valid entry", 0.01, {}};
  refused.candidates = {"casino"};
  refused.refusals = {{"casino", "empty", "list casino: no valid entry"}};
  h.reloads.back()(refused);
  REQUIRE(reply);
  CHECK_FALSE(reply->ok);
  CHECK(reply->error.find("refused, the version serving stays") != std::string::npos);
  // Not a list in service, not base64: refused at once.
  reply = h.ask(CommandId::kListPush, {{"list", "nosuch"}, {"file", "x:"}});
  REQUIRE(reply);
  CHECK_FALSE(reply->ok);
  reply = h.ask(CommandId::kListPush, {{"list", "casino"}, {"file", "x:%%%"}});
  REQUIRE(reply);
  CHECK_FALSE(reply->ok);
}

TEST_CASE("list stage --from-feed: refused on a file list, with FILE, and without either") {
  Harness h;
  auto reply = h.ask(CommandId::kListStage, {{"list", "casino"}, {"from_feed", "true"}});
  REQUIRE(reply);
  CHECK_FALSE(reply->ok);
  CHECK(reply->error.find("list casino has no feed") != std::string::npos);
  CHECK(reply->error.find("primary:") != std::string::npos);
  reply = h.ask(CommandId::kListStage,
                {{"list", "casino"}, {"from_feed", "true"}, {"file", "x.txt:eA=="}});
  REQUIRE(reply);
  CHECK_FALSE(reply->ok);
  CHECK(reply->error.find("exclude each other") != std::string::npos);
  reply = h.ask(CommandId::kListStage, {{"list", "casino"}});
  REQUIRE(reply);
  CHECK_FALSE(reply->ok);
  CHECK(reply->error.find("FILE or --from-feed is required") != std::string::npos);
  CHECK(h.reloads.empty());  // nothing was built
  CHECK_FALSE(h.feeds->store().exists("casino", "staged"));
}
