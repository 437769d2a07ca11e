// SPDX-License-Identifier: MIT
#include "blocklist/formats/rpz.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "blocklist/formats/line_splitter.h"
#include "blocklist/formats/reader_output.h"
#include "blocklist/formats/rpz_fast.h"
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
bool wire_text(const uint8_t* p, size_t size, std::string& out) {
  out.resize(size);  // the text is never longer than the wire form
  size_t n = 0;
  for (size_t i = 0; i < size && p[i] != 0;) {
    size_t len = p[i++];
    if (i + len > size) return false;
    if (n != 0) out[n++] = '.';
    for (size_t k = 0; k < len; ++k) {
      char c = static_cast<char>(p[i + k]);
      if (c == '.') return false;
      out[n++] = (c >= 'A' && c <= 'Z') ? char(c | 0x20) : c;
    }
    i += len;
  }
  out.resize(n);
  return true;
}

bool dname_text(const ldns_rdf* dname, std::string& out) {
  return wire_text(ldns_rdf_data(dname), ldns_rdf_size(dname), out);
}

// One record, from either reader, before it means anything.
struct RawRecord {
  uint32_t line = 0;
  std::string_view source;
  const uint8_t* owner = nullptr;  // wire
  size_t owner_len = 0;
  uint16_t type = 0;
  uint16_t cls = LDNS_RR_CLASS_IN;
  uint32_t ttl = 0;
  std::span<const uint8_t> rdata;  // wire, all rdfs back to back
  const uint8_t* cname = nullptr;  // a CNAME's one target (wire), else null
  size_t cname_len = 0;
};

// Walks the zone text record by record: the fast path (rpz_fast.h) for the common forms,
// ldns for the rest. Owns the zone state both must agree on — $ORIGIN, $TTL, the previous
// owner (handed to ldns whenever the fast path moved it) — and the mapping from file offsets
// to line numbers.
class ZoneWalk {
 public:
  ZoneWalk(std::string_view text, ParsedList& out, bool fast, size_t lines)
      : text_(text), out_(out), policy_(out), fast_(fast) {
    policy_.expect(lines / 2 + 1);
  }
  void run();

 private:
  size_t skip_to_record(size_t pos);
  void advance_lines(size_t to);
  std::string_view line_at(size_t pos) const;
  bool try_fast(size_t start, uint32_t line, size_t& next);
  void on_ldns_record(RrPtr rr, uint32_t line, std::string_view source);
  void on_record(const RawRecord& r);
  void cache_origin();

  std::string_view text_;
  ParsedList& out_;
  RpzPolicyBuilder policy_;
  bool fast_;
  size_t counted_to_ = 0;  // text_[0, counted_to_) has been scanned for newlines
  uint32_t line_ = 1;      // line number at counted_to_
  std::string apex_{kRpzDefaultOrigin};
  bool apex_fixed_ = false;      // by a leading $ORIGIN or by the first record
  bool apex_from_file_ = false;  // false while apex_ is kRpzDefaultOrigin
  ldns_rdf* origin_ = nullptr;
  ldns_rdf* prev_ = nullptr;                 // ldns's previous owner
  uint32_t default_ttl_ = LDNS_DEFAULT_TTL;  // $TTL, as ldns keeps it
  uint8_t origin_wire_[LDNS_MAX_DOMAINLEN + 1];
  size_t origin_len_ = 0;
  uint8_t prev_wire_[LDNS_MAX_DOMAINLEN + 1];  // the fast path's last owner
  size_t prev_len_ = 0;
  bool prev_stale_ = false;     // prev_ is behind prev_wire_
  std::string owner_, target_;  // scratch
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

void ZoneWalk::cache_origin() {
  origin_len_ = 0;
  if (origin_ && ldns_rdf_size(origin_) <= sizeof origin_wire_) {
    origin_len_ = ldns_rdf_size(origin_);
    std::memcpy(origin_wire_, ldns_rdf_data(origin_), origin_len_);
  }
}

// A record at `start` (the first column of its line) in the simple form: read here, and
// `next` set past its line. False: ldns reads it.
bool ZoneWalk::try_fast(size_t start, uint32_t line, size_t& next) {
  const size_t eol = text_.find('\n', start);
  const std::string_view source =
      text_.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
  SimpleRecord rec;
  if (!parse_simple_line(source, rec)) return false;
  const std::span<const uint8_t> origin(origin_wire_, origin_len_);
  uint8_t owner[LDNS_MAX_DOMAINLEN + 1];
  size_t owner_len = 0;
  if (!plain_name_to_wire(rec.owner, origin, owner, owner_len)) return false;
  uint8_t rdata[LDNS_MAX_DOMAINLEN + 1];
  size_t rdata_len = 0;
  if (rec.type == LDNS_RR_TYPE_CNAME) {
    if (rec.rdata == ".") {
      rdata[0] = 0;
      rdata_len = 1;
    } else if (!plain_name_to_wire(rec.rdata, origin, rdata, rdata_len)) {
      return false;
    }
  } else if (!address_rdata(rec.type, rec.rdata, rdata, rdata_len)) {
    return false;
  }
  // As ldns: no TTL on the record is $TTL, and a $TTL of 0 is ldns's default.
  const uint32_t ttl =
      rec.has_ttl ? rec.ttl : (default_ttl_ == 0 ? uint32_t{LDNS_DEFAULT_TTL} : default_ttl_);
  std::memcpy(prev_wire_, owner, owner_len);
  prev_len_ = owner_len;
  prev_stale_ = true;
  RawRecord r;
  r.line = line;
  r.source = source;
  r.owner = owner;
  r.owner_len = owner_len;
  r.type = rec.type;
  r.ttl = ttl;
  r.rdata = std::span<const uint8_t>(rdata, rdata_len);
  if (rec.type == LDNS_RR_TYPE_CNAME) {
    r.cname = rdata;
    r.cname_len = rdata_len;
  }
  on_record(r);
  next = eol == std::string_view::npos ? text_.size() : eol + 1;
  return true;
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
  cache_origin();

  size_t pos = 0;
  while (true) {
    size_t start = skip_to_record(pos);
    if (start >= text_.size()) break;
    advance_lines(start);
    uint32_t line = line_;
    // The record's line starts here, or at its leading blanks (an omitted owner).
    const size_t line_begin = start == 0 ? 0 : text_.rfind('\n', start - 1) + 1;
    if (fast_ && line_begin == start && try_fast(start, line, pos)) continue;

    // ldns reads from the record's line: the blank lines and comments before it are
    // skipped already (a line of blanks alone would read as an empty record).
    // (After a record ldns ended mid-line, at a stray `)`, it goes on from there.)
    if (std::fseek(fp.get(), static_cast<long>(std::max(pos, line_begin)), SEEK_SET) != 0) {
      add_reject(out_, line, "zone parser stopped", line_at(start));
      break;
    }
    if (prev_stale_) {
      ldns_rdf_deep_free(prev_);
      prev_ = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, prev_len_, prev_wire_);
      prev_stale_ = false;
    }
    ldns_rr* raw = nullptr;
    ldns_status status =
        ldns_rr_new_frm_fp_l(&raw, fp.get(), &default_ttl_, &origin_, &prev_, nullptr);
    RrPtr rr(status == LDNS_STATUS_OK ? raw : nullptr);
    long end = std::ftell(fp.get());
    if (end < 0 || static_cast<size_t>(end) <= start) {
      add_reject(out_, line, "zone parser stopped", line_at(start));  // never loop forever
      break;
    }
    pos = static_cast<size_t>(end);

    switch (status) {
      case LDNS_STATUS_OK:
        on_ldns_record(std::move(rr), line, line_at(start));
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
    cache_origin();
  }
  ldns_rdf_deep_free(prev_);
  ldns_rdf_deep_free(origin_);
  origin_ = nullptr;
}

void ZoneWalk::on_ldns_record(RrPtr rr, uint32_t line, std::string_view source) {
  std::vector<uint8_t> rdata;
  for (size_t i = 0; i < ldns_rr_rd_count(rr.get()); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr.get(), i);
    const uint8_t* d = ldns_rdf_data(rdf);
    rdata.insert(rdata.end(), d, d + ldns_rdf_size(rdf));
  }
  RawRecord r;
  r.line = line;
  r.source = source;
  r.owner = ldns_rdf_data(ldns_rr_owner(rr.get()));
  r.owner_len = ldns_rdf_size(ldns_rr_owner(rr.get()));
  r.type = static_cast<uint16_t>(ldns_rr_get_type(rr.get()));
  r.cls = static_cast<uint16_t>(ldns_rr_get_class(rr.get()));
  r.ttl = ldns_rr_ttl(rr.get());
  r.rdata = rdata;
  if (r.type == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr.get()) == 1) {
    r.cname = ldns_rdf_data(ldns_rr_rdf(rr.get(), 0));
    r.cname_len = ldns_rdf_size(ldns_rr_rdf(rr.get(), 0));
  }
  on_record(r);
}

void ZoneWalk::on_record(const RawRecord& rr) {
  if (!wire_text(rr.owner, rr.owner_len, owner_)) {
    add_reject(out_, rr.line, "owner name has a dot inside a label", rr.source);
    return;
  }
  if (rr.type == 0) {  // ldns reads a word it does not know as type 0 instead of failing
    add_reject(out_, rr.line, "unknown record type", rr.source);
    return;
  }
  if (!apex_fixed_) {
    apex_fixed_ = true;
    // A zone without $ORIGIN that starts with an absolute SOA owner is that zone, as a
    // server loading it under that name would see it: later relative names are below it.
    if (rr.type == LDNS_RR_TYPE_SOA && owner_ != apex_) {
      apex_ = owner_;
      apex_from_file_ = true;
      ldns_rdf_deep_free(origin_);
      origin_ = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, rr.owner_len, rr.owner);
      cache_origin();
    }
  }

  if (owner_ == apex_) {
    if (rr.type != LDNS_RR_TYPE_SOA && rr.type != LDNS_RR_TYPE_NS) {
      count_skip(out_, "rpz record at the zone apex");
    }
    return;
  }
  if (!apex_.empty() && !(owner_.size() > apex_.size() + 1 && owner_.ends_with(apex_) &&
                          owner_[owner_.size() - apex_.size() - 1] == '.')) {
    add_reject(out_, rr.line, "owner name outside the policy zone " + apex_, rr.source);
    return;
  }
  if (rr.cls != LDNS_RR_CLASS_IN) {
    add_reject(out_, rr.line, "class is not IN", rr.source);
    return;
  }

  RpzRecord r;
  r.line = rr.line;
  r.trigger = std::string_view(owner_).substr(
      0, apex_.empty() ? owner_.size() : owner_.size() - apex_.size() - 1);
  r.type = rr.type;
  r.ttl = rr.ttl;
  r.source_line = rr.source;
  if (rr.cname) {
    if (!wire_text(rr.cname, rr.cname_len, target_)) {
      add_reject(out_, rr.line, "CNAME target has a dot inside a label", rr.source);
      return;
    }
    // Without $ORIGIN or an absolute SOA, a relative target would point below a name this
    // reader made up; the author surely meant something else.
    if (!apex_from_file_ && target_.size() > apex_.size() && target_.ends_with(apex_) &&
        target_[target_.size() - apex_.size() - 1] == '.') {
      add_reject(out_, rr.line, "relative CNAME target in a zone without $ORIGIN", rr.source);
      return;
    }
    r.cname_target = target_;
  }
  r.rdata = rr.rdata;
  policy_.add(r);
}

}  // namespace

void read_rpz(std::string_view text, ParsedList& out, bool fast_path) {
  std::string storage;
  text = clean_line_ends(strip_bom(text), storage);
  const size_t lines = count_lines(text);
  out.stats.lines += lines;
  if (text.empty()) return;
  ZoneWalk(text, out, fast_path, lines).run();
}

}  // namespace sinkhole::blocklist
