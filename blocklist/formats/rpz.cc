// SPDX-License-Identifier: MIT
#include "blocklist/formats/rpz.h"

#include <ldns/ldns.h>

#include <cstdio>
#include <memory>
#include <string>

#include "blocklist/formats/line_splitter.h"
#include "blocklist/formats/reader_output.h"
#include "blocklist/formats/rpz_policy.h"

namespace sinkhole::blocklist {
namespace {

struct RrDeleter {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using RrPtr = std::unique_ptr<ldns_rr, RrDeleter>;

// ldns treats "\r" as a line end of its own, which would shift line numbers: give it "\n"
// only. Copies only when there is something to change.
std::string_view clean_line_ends(std::string_view text, std::string& storage) {
  if (text.find('\r') == std::string_view::npos) return text;
  storage.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    storage += text[i];
  }
  return storage;
}

size_t count_lines(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n + (!text.empty() && text.back() != '\n');
}

// Lower-case presentation form of a wire name without escapes or the final dot. A label with
// a dot inside (written `\.`) cannot be told apart afterwards, so it is reported instead.
bool dname_text(const ldns_rdf* dname, std::string& out) {
  out.clear();
  const uint8_t* p = ldns_rdf_data(dname);
  size_t size = ldns_rdf_size(dname);
  for (size_t i = 0; i < size && p[i] != 0;) {
    size_t len = p[i++];
    if (i + len > size) return false;
    if (!out.empty()) out += '.';
    for (size_t k = 0; k < len; ++k) {
      char c = static_cast<char>(p[i + k]);
      if (c == '.') return false;
      out += (c >= 'A' && c <= 'Z') ? char(c | 0x20) : c;
    }
    i += len;
  }
  return true;
}

// Walks the zone text record by record. Owns the ldns state ($ORIGIN, $TTL, previous owner)
// and the mapping from file offsets to line numbers.
class ZoneWalk {
 public:
  ZoneWalk(std::string_view text, ParsedList& out) : text_(text), out_(out), policy_(out) {}
  void run();

 private:
  size_t skip_to_record(size_t pos);
  void advance_lines(size_t to);
  std::string_view line_at(size_t pos) const;
  void on_record(RrPtr rr, uint32_t line, std::string_view source);

  std::string_view text_;
  ParsedList& out_;
  RpzPolicyBuilder policy_;
  size_t counted_to_ = 0;  // text_[0, counted_to_) has been scanned for newlines
  uint32_t line_ = 1;      // line number at counted_to_
  std::string apex_{kRpzDefaultOrigin};
  bool apex_fixed_ = false;      // by a leading $ORIGIN or by the first record
  bool apex_from_file_ = false;  // false while apex_ is kRpzDefaultOrigin
  ldns_rdf* origin_ = nullptr;
  std::string owner_;  // scratch
};

// Blank text and `;` comments between records: skipped here so that the record's first line
// is known (ldns only counts lines, it does not say where a record started).
size_t ZoneWalk::skip_to_record(size_t pos) {
  while (pos < text_.size()) {
    char c = text_[pos];
    if (c == ';') {
      size_t nl = text_.find('\n', pos);
      pos = nl == std::string_view::npos ? text_.size() : nl;
    } else if (c == '\n' || is_blank(c)) {
      ++pos;
    } else {
      break;
    }
  }
  return pos;
}

void ZoneWalk::advance_lines(size_t to) {
  for (; counted_to_ < to && counted_to_ < text_.size(); ++counted_to_) {
    line_ += text_[counted_to_] == '\n';
  }
}

std::string_view ZoneWalk::line_at(size_t pos) const {
  size_t begin = pos == 0 ? std::string_view::npos : text_.rfind('\n', pos - 1);
  begin = begin == std::string_view::npos ? 0 : begin + 1;
  size_t end = text_.find('\n', pos);
  return text_.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
}

void ZoneWalk::run() {
  // fmemopen wants a non-const buffer even for reading; "r" never writes to it.
  std::unique_ptr<FILE, FileCloser> fp(
      fmemopen(const_cast<char*>(text_.data()), text_.size(), "r"));
  if (!fp) {
    add_reject(out_, 0, "cannot open the zone text", "");
    return;
  }
  std::string origin_text = std::string(kRpzDefaultOrigin) + ".";
  origin_ = ldns_dname_new_frm_str(origin_text.c_str());
  ldns_rdf* prev = nullptr;
  uint32_t ttl = LDNS_DEFAULT_TTL;

  size_t pos = 0;
  while (true) {
    size_t start = skip_to_record(pos);
    if (start >= text_.size()) break;
    advance_lines(start);
    uint32_t line = line_;
    ldns_rr* raw = nullptr;
    ldns_status status = ldns_rr_new_frm_fp_l(&raw, fp.get(), &ttl, &origin_, &prev, nullptr);
    RrPtr rr(status == LDNS_STATUS_OK ? raw : nullptr);
    long end = std::ftell(fp.get());
    if (end < 0 || static_cast<size_t>(end) <= start) {
      add_reject(out_, line, "zone parser stopped", line_at(start));  // never loop forever
      break;
    }
    pos = static_cast<size_t>(end);

    switch (status) {
      case LDNS_STATUS_OK:
        on_record(std::move(rr), line, line_at(start));
        break;
      case LDNS_STATUS_SYNTAX_EMPTY:
      case LDNS_STATUS_SYNTAX_TTL:
        break;
      case LDNS_STATUS_SYNTAX_ORIGIN:
        if (!apex_fixed_ && origin_ && dname_text(origin_, owner_)) {
          apex_ = owner_;
          apex_fixed_ = true;
          apex_from_file_ = true;
        }
        break;
      case LDNS_STATUS_SYNTAX_INCLUDE:
        count_skip(out_, "rpz $INCLUDE not supported");
        break;
      default:
        add_reject(out_, line, ldns_get_errorstr_by_id(status), line_at(start));
        break;
    }
    if (!origin_) {  // a bad $ORIGIN leaves ldns without one: keep names inside the zone
      std::string apex_text = apex_ + ".";
      origin_ = ldns_dname_new_frm_str(apex_text.c_str());
    }
  }
  ldns_rdf_deep_free(prev);
  ldns_rdf_deep_free(origin_);
  origin_ = nullptr;
}

void ZoneWalk::on_record(RrPtr rr, uint32_t line, std::string_view source) {
  if (!dname_text(ldns_rr_owner(rr.get()), owner_)) {
    add_reject(out_, line, "owner name has a dot inside a label", source);
    return;
  }
  ldns_rr_type type = ldns_rr_get_type(rr.get());
  if (type == 0) {  // ldns reads a word it does not know as type 0 instead of failing
    add_reject(out_, line, "unknown record type", source);
    return;
  }
  if (!apex_fixed_) {
    apex_fixed_ = true;
    // A zone without $ORIGIN that starts with an absolute SOA owner is that zone, as a
    // server loading it under that name would see it: later relative names are below it.
    if (type == LDNS_RR_TYPE_SOA && owner_ != apex_) {
      apex_ = owner_;
      apex_from_file_ = true;
      ldns_rdf_deep_free(origin_);
      origin_ = ldns_rdf_clone(ldns_rr_owner(rr.get()));
    }
  }

  if (owner_ == apex_) {
    if (type != LDNS_RR_TYPE_SOA && type != LDNS_RR_TYPE_NS) {
      count_skip(out_, "rpz record at the zone apex");
    }
    return;
  }
  if (!apex_.empty() && !(owner_.size() > apex_.size() + 1 && owner_.ends_with(apex_) &&
                          owner_[owner_.size() - apex_.size() - 1] == '.')) {
    add_reject(out_, line, "owner name outside the policy zone " + apex_, source);
    return;
  }
  if (ldns_rr_get_class(rr.get()) != LDNS_RR_CLASS_IN) {
    add_reject(out_, line, "class is not IN", source);
    return;
  }

  RpzRecord r;
  r.line = line;
  r.trigger = std::string_view(owner_).substr(
      0, apex_.empty() ? owner_.size() : owner_.size() - apex_.size() - 1);
  r.type = static_cast<uint16_t>(type);
  r.ttl = ldns_rr_ttl(rr.get());
  r.source_line = source;
  std::string target;
  if (type == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr.get()) == 1) {
    if (!dname_text(ldns_rr_rdf(rr.get(), 0), target)) {
      add_reject(out_, line, "CNAME target has a dot inside a label", source);
      return;
    }
    // Without $ORIGIN or an absolute SOA, a relative target would point below a name this
    // reader made up; the author surely meant something else.
    if (!apex_from_file_ && target.ends_with("." + apex_)) {
      add_reject(out_, line, "relative CNAME target in a zone without $ORIGIN", source);
      return;
    }
    r.cname_target = target;
  }
  for (size_t i = 0; i < ldns_rr_rd_count(rr.get()); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr.get(), i);
    const uint8_t* d = ldns_rdf_data(rdf);
    r.rdata.insert(r.rdata.end(), d, d + ldns_rdf_size(rdf));
  }
  policy_.add(std::move(r));
}

}  // namespace

void read_rpz(std::string_view text, ParsedList& out) {
  std::string storage;
  text = clean_line_ends(strip_bom(text), storage);
  out.stats.lines += count_lines(text);
  if (text.empty()) return;
  ZoneWalk(text, out).run();
}

}  // namespace sinkhole::blocklist
