// SPDX-License-Identifier: MIT
// PatternSet: regex and wildcard rules compiled together with Hyperscan (one
// hs_compile_multi, id = rule index), as Hyperscan's own examples/pcapscan.cc does. The
// database is immutable and shared by all workers; each worker scans with its own
// PatternScratch. A pattern that does not compile is reported by its index and left out;
// the others still match.
#pragma once

#include <hs/hs.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sinkhole::blocklist {

class PatternSet;

// Per-thread Hyperscan scratch space, grown to fit every database it is used with.
class PatternScratch {
 public:
  PatternScratch() = default;
  ~PatternScratch();
  PatternScratch(const PatternScratch&) = delete;
  PatternScratch& operator=(const PatternScratch&) = delete;
  // Makes the scratch usable with `set`; allocates only when the database needs more.
  bool prepare(const PatternSet& set);
  hs_scratch_t* get() const { return scratch_; }

 private:
  hs_scratch_t* scratch_ = nullptr;
};

class PatternSet {
 public:
  struct Error {
    size_t index;  // into the expressions given to compile()
    std::string message;
  };
  PatternSet() = default;
  // Compiles `expressions`; bad ones are left out and reported in `errors`.
  // `exception[i]` marks rules whose match should win over block matches.
  static PatternSet compile(const std::vector<std::string>& expressions,
                            const std::vector<bool>& exception, std::vector<Error>& errors);

  static constexpr uint32_t kNoMatch = 0xFFFFFFFF;
  // Scans a lower-case presentation name; returns the index of the matching expression
  // (an exception if any matches, else the first block match found), or kNoMatch.
  uint32_t scan(const char* text, size_t len, PatternScratch& scratch) const noexcept;

  bool empty() const { return db_ == nullptr; }
  size_t size() const { return compiled_; }
  size_t memory_bytes() const;
  hs_database_t* database() const { return db_.get(); }

 private:
  struct DbFree {
    void operator()(hs_database_t* db) const { hs_free_database(db); }
  };
  std::shared_ptr<hs_database_t> db_;
  std::vector<bool> exception_;
  size_t compiled_ = 0;
};

}  // namespace sinkhole::blocklist
