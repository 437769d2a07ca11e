// SPDX-License-Identifier: MIT
// What a staged list version changes against the version serving (sinkholectl list diff):
// the names it adds and removes. Block entries of the domain formats only (domains, hosts,
// adblock, rpz QNAME rules); regex/wildcard patterns are not compared. Reads files: the
// control thread, off any worker.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "blocklist/entry.h"

namespace sinkhole::policy {

struct ListDiff {
  size_t added = 0, removed = 0;                        // counts
  std::vector<std::string> added_names, removed_names;  // sorted, at most `keep` each
};

// The names of `staged` not in `serving` and of `serving` not in `staged` (both sets of
// block-entry names, any order, duplicates allowed).
ListDiff diff_names(std::vector<std::string> serving, std::vector<std::string> staged, size_t keep);

// The block-entry names of the list file at `path` (`format` null: inferred as the
// builder does).
std::vector<std::string> block_names(const std::string& path, const blocklist::Format* format);

}  // namespace sinkhole::policy
