// SPDX-License-Identifier: MIT
// Reading a built PolicySnapshot in tests: a list by name, whether any list's matcher holds
// a name, and a build's messages as one text for INFO(). Shared by the policy and control
// tests that build snapshots; any thread (tests are single-threaded).
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "blocklist/matcher.h"
#include "policy/snapshot.h"
#include "policy/snapshot_builder.h"

namespace sinkhole::test {

// Every message on its own indented line: INFO(messages(r.errors)) shows why a build failed.
inline std::string messages(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "\n  " + s;
  return out;
}

// The list called `name`; a test failure when there is none.
inline const policy::ListData& list_named(const policy::PolicySnapshot& s, std::string_view name) {
  for (const auto& l : s.lists)
    if (l.name == name) return l;
  FAIL("no list " << name);
  throw 0;  // not reached: FAIL throws
}

inline const policy::ListData& list_named(const policy::BuildResult& r, std::string_view name) {
  REQUIRE(r.snapshot);
  return list_named(*r.snapshot, name);
}

// Whether any list's matcher holds `name` (or an ancestor rule): the lists' content, before
// any policy decides.
inline bool any_list_holds(const policy::PolicySnapshot& s, const char* name) {
  for (const auto& l : s.lists)
    if (l.matcher && l.matcher->lookup_text(name, nullptr)) return true;
  return false;
}

}  // namespace sinkhole::test
