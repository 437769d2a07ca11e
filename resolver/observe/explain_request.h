// SPDX-License-Identifier: MIT
// GET /explain's answer from its query arguments, apart from HTTP: metrics_http.cc hands
// over the arguments libmicrohttpd decoded; this checks them (exactly one non-empty name,
// at most one client, both valid) and renders the public JSON. Pure, so the fuzz target
// tests/fuzz/fuzz_explain_query.cc drives it without a socket. Metrics HTTP thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "policy/snapshot.h"

namespace sinkhole::observe {

// One query argument as decoded (`?name` without `=` has an empty value).
struct QueryArg {
  std::string_view key;
  std::string_view value;
};

struct ExplainAnswer {
  unsigned status = 400;  // 200, or 400 with {"error": ...}
  std::string body;       // one JSON document and a line end
};

ExplainAnswer answer_explain(const policy::PolicySnapshot& snap, std::span<const QueryArg> args);

}  // namespace sinkhole::observe
