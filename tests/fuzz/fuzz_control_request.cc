// SPDX-License-Identifier: MIT
// Fuzz target: one request line on the control socket, as the control thread handles it
// (control_socket.cc hands its handler the bytes before the first newline, at most 4 KiB):
// parse_request against the command table, then the command's handler on a server state
// without threads (server_fixture.h). Properties: a request that parses survives
// to_line → parse_request unchanged (what sinkholectl sends is what the server reads), and
// every reply — to any bytes — is one line that sinkholectl's parse_reply reads back.
#include <string>

#include "resolver/control/command_handlers.h"
#include "resolver/control/command_table.h"
#include "tests/fuzz/server_fixture.h"

namespace {

using namespace sinkhole;
using namespace sinkhole::control;

void check_reply_line(const Reply& r) {
  const std::string line = to_line(r);
  FUZZ_CHECK(line.find('\n') == std::string::npos);
  const auto back = parse_reply(line);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->ok == r.ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::FuzzServer server;
  static CommandContext ctx = [] {
    CommandContext c;
    c.state = &server.state;
    c.reload = [](bool /*force*/, Reloader::Done done) {
      if (done) done(Reloader::Outcome{true, 1, "1 policy", 0.01, {}});
    };
    c.now_unix = [] { return int64_t{1'700'000'060}; };
    c.config = []() -> const sinkhole::config::Config& { return server.cfg; };
    return c;
  }();

  std::string_view line = fuzz::as_text(data, size);
  if (const size_t nl = line.find('\n'); nl != line.npos) line = line.substr(0, nl);
  if (line.size() > 4096) return 0;

  const ParsedRequest parsed = parse_request(line);
  if (parsed.request) {
    const ParsedRequest again = parse_request(to_line(*parsed.request));
    FUZZ_CHECK(again.request.has_value());
    FUZZ_CHECK(again.request->id == parsed.request->id);
    FUZZ_CHECK(again.request->args == parsed.request->args);
    FUZZ_CHECK(again.request->json == parsed.request->json);
  } else {
    FUZZ_CHECK(!parsed.error.empty());
  }

  int replies = 0;
  dispatch(ctx, line, [&](const Reply& r) {
    ++replies;
    check_reply_line(r);
  });
  FUZZ_CHECK(replies == 1);

  // The same bytes as a reply line, as sinkholectl reads one.
  if (const auto reply = parse_reply(line)) check_reply_line(*reply);
  return 0;
}
