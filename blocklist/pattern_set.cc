// SPDX-License-Identifier: MIT
#include "blocklist/pattern_set.h"

#include <algorithm>
#include <cstdlib>

namespace sinkhole::blocklist {

PatternScratch::~PatternScratch() {
  if (scratch_) hs_free_scratch(scratch_);
}

bool PatternScratch::prepare(const PatternSet& set) {
  if (set.empty()) return true;
  return hs_alloc_scratch(set.database(), &scratch_) == HS_SUCCESS;
}

namespace {
constexpr unsigned kFlags = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
}

PatternSet PatternSet::compile(const std::vector<std::string>& expressions,
                               const std::vector<bool>& exception, std::vector<Error>& errors) {
  PatternSet set;
  set.exception_ = exception;
  set.exception_.resize(expressions.size(), false);
  // Syntax first, one by one (cheap): a single bad rule must not cost a full recompile.
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < expressions.size(); ++i) {
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_expression_info(expressions[i].c_str(), kFlags, &info, &err) != HS_SUCCESS) {
      errors.push_back({i, err ? err->message : "invalid pattern"});
      hs_free_compile_error(err);
      continue;
    }
    std::free(info);
    exprs.push_back(expressions[i].c_str());
    flags.push_back(kFlags);
    ids.push_back(static_cast<unsigned>(i));
  }
  // Whole-database errors (e.g. a pattern too large) name their expression: drop it, retry.
  while (!exprs.empty()) {
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                         static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db,
                         &err) == HS_SUCCESS) {
      set.db_.reset(db, DbFree{});
      set.compiled_ = exprs.size();
      break;
    }
    const int bad = err ? err->expression : -1;
    if (bad < 0 || static_cast<size_t>(bad) >= exprs.size()) {
      errors.push_back({expressions.size(), err ? err->message : "pattern database failed"});
      hs_free_compile_error(err);
      break;
    }
    errors.push_back({ids[static_cast<size_t>(bad)], err->message});
    hs_free_compile_error(err);
    exprs.erase(exprs.begin() + bad);
    flags.erase(flags.begin() + bad);
    ids.erase(ids.begin() + bad);
  }
  return set;
}

namespace {
struct ScanState {
  const std::vector<bool>* exception;
  uint32_t found = PatternSet::kNoMatch;
};

int on_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
  auto* st = static_cast<ScanState*>(ctx);
  if ((*st->exception)[id]) {
    st->found = id;
    return 1;  // an exception decides: stop scanning
  }
  if (st->found == PatternSet::kNoMatch) st->found = id;
  return 0;
}
}  // namespace

uint32_t PatternSet::scan(const char* text, size_t len, PatternScratch& scratch) const noexcept {
  if (!db_) return kNoMatch;
  ScanState st{&exception_};
  // HS_SCAN_TERMINATED is our own early stop, not a failure.
  hs_scan(db_.get(), text, static_cast<unsigned>(len), 0, scratch.get(), on_match, &st);
  return st.found;
}

size_t PatternSet::memory_bytes() const {
  size_t n = 0;
  if (db_) hs_database_size(db_.get(), &n);
  return n;
}

}  // namespace sinkhole::blocklist
