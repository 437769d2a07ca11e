// SPDX-License-Identifier: MIT
// Fuzz target: the query string of GET /explain (the warning page asks it, so any
// subscriber can): split at `&` and `=` and decoded as libmicrohttpd does (`+` is a blank,
// then MHD_http_unescape; values end at a decoded NUL, as C strings), then
// observe::answer_explain on a snapshot that uses every list format (server_fixture.h).
// Properties: 200 or 400, and the body is always one JSON document.
#include <microhttpd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "resolver/observe/explain_request.h"
#include "tests/fuzz/server_fixture.h"

namespace {

using namespace sinkhole;

// Decodes one key or value in place; returns it as libmicrohttpd hands it over.
std::string_view decode(std::string& s) {
  std::replace(s.begin(), s.end(), '+', ' ');
  s.push_back('\0');
  MHD_http_unescape(s.data());
  s.resize(std::strlen(s.c_str()));
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::FuzzServer server;
  std::string_view query = fuzz::as_text(data, size);
  if (query.size() > 8192) return 0;  // beyond libmicrohttpd's default request buffer

  std::vector<std::string> storage;  // keys and values, decoded
  std::vector<std::pair<size_t, size_t>> pairs;
  while (!query.empty()) {
    const size_t amp = std::min(query.find('&'), query.size());
    const std::string_view piece = query.substr(0, amp);
    query.remove_prefix(std::min(amp + 1, query.size()));
    const size_t eq = std::min(piece.find('='), piece.size());
    storage.emplace_back(piece.substr(0, eq));
    storage.emplace_back(eq < piece.size() ? piece.substr(eq + 1) : std::string_view{});
    pairs.emplace_back(storage.size() - 2, storage.size() - 1);
  }
  std::vector<observe::QueryArg> args;
  for (const auto& [k, v] : pairs) args.push_back({decode(storage[k]), decode(storage[v])});

  const auto snap = server.holder.current();
  const observe::ExplainAnswer a = observe::answer_explain(*snap, args);
  FUZZ_CHECK(a.status == 200 || a.status == 400);
  FUZZ_CHECK(!a.body.empty() && a.body.back() == '\n');
  FUZZ_CHECK(nlohmann::json::accept(a.body));
  return 0;
}
