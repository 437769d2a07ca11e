// SPDX-License-Identifier: MIT
// A policy::Explanation (policy/explain.h) as people and programs read it: a paragraph for
// `sinkholectl explain`, one JSON object for `sinkholectl explain --json` and for the
// warning page's GET /explain. Pure functions of the struct: the control thread and the
// metrics HTTP thread both call them.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "policy/explain.h"

namespace sinkhole::observe {

// Who reads the JSON: an operator (sinkholectl) sees where a rule comes from; the public
// endpoint, which subscribers can reach through the warning page, leaves out the server's
// file path and line.
enum class Audience : uint8_t { kOperator, kPublic };

// "allowed", "blocked", ... : stable names, the JSON "verdict".
const char* verdict_name(policy::Explanation::Outcome outcome);

std::string explain_text(const policy::Explanation& e);
nlohmann::ordered_json explain_json(const policy::Explanation& e, Audience audience);

// A list's legal basis on one line ("MIC, Decision 1234/QD-BTTTT of 2024-11-09
// <https://...>"; the parts it has) and as {"authority", "reference", "date", "url"} (all
// four, "" where unset; null when the basis is empty). Public: the warning page shows it.
std::string basis_text(const policy::LegalBasis& b);
nlohmann::ordered_json basis_json(const policy::LegalBasis& b);
// policy::explain_policies' answer (no client given): one verdict is shown as above; several
// as a line per policy (text), or {"name", "verdict" (blocked if any policy blocks, else
// refused-client if any refuses, else allowed), "client": "", "exit", "policies": [...]}.
std::string explain_text(const std::vector<policy::Explanation>& each);
nlohmann::ordered_json explain_json(const std::vector<policy::Explanation>& each,
                                    Audience audience);

}  // namespace sinkhole::observe
