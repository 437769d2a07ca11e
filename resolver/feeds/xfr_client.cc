// SPDX-License-Identifier: MIT
#include "resolver/feeds/xfr_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>

namespace sinkhole::feeds {

namespace {

using Clock = std::chrono::steady_clock;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

XfrResult fail(std::string reason, std::string error) {
  XfrResult r;
  r.reason = std::move(reason);
  r.error = std::move(error);
  return r;
}

// The canonical line of a record: lower-case names, ldns's presentation, no newline.
std::string canonical_line(const ldns_rr* rr) {
  ldns_rr* c = ldns_rr_clone(rr);
  ldns_rr2canonical(c);
  char* s = ldns_rr2str(c);
  ldns_rr_free(c);
  std::string out = s ? s : "";
  free(s);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

uint32_t soa_field(const ldns_rr* soa, size_t i) {
  const ldns_rdf* f = ldns_rr_rdf(soa, i);
  return f ? ldns_rdf2native_int32(f) : 0;
}

class Session {
 public:
  explicit Session(const XfrRequest& req)
      : req_(req), deadline_(Clock::now() + std::chrono::milliseconds(req.deadline_ms)) {}

  XfrResult run() {
    const int fd = ::socket(req_.primary.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail("network", fmt::format("socket: {}", std::strerror(errno)));
    Fd sock(fd);
    if (::connect(fd, req_.primary.sa(), req_.primary.sa_len()) != 0 && errno != EINPROGRESS)
      return fail("network",
                  fmt::format("connect to {}: {}", req_.primary.to_string(), std::strerror(errno)));
    if (!wait(fd, POLLOUT, remaining_ms())) {
      if (cancelled()) return fail("cancelled", "cancelled");
      return fail("timeout", fmt::format("connect to {}: timed out", req_.primary.to_string()));
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0)
      return fail("network",
                  fmt::format("connect to {}: {}", req_.primary.to_string(), std::strerror(soerr)));
    std::string err;
    std::vector<uint8_t> query;
    if (!make_query(query, err)) return fail("malformed", err);
    if (!send_all(fd, query))
      return cancelled() ? fail("cancelled", "cancelled")
                         : fail("network", "sending the request failed");
    return read_answer(fd);
  }

 private:
  int remaining_ms() const {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(left);
  }
  bool cancelled() const { return req_.cancel && req_.cancel->load(std::memory_order_relaxed); }
  // Waits up to `ms` for `events`, in slices so that a cancel is seen within
  // kXfrCancelPollMs; false on timeout or cancel.
  bool wait(int fd, short events, int ms) const {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    pollfd p{fd, events, 0};
    for (;;) {
      if (cancelled()) return false;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      const int slice = static_cast<int>(std::clamp<int64_t>(left, 0, kXfrCancelPollMs));
      const int n = ::poll(&p, 1, slice);
      if (n < 0 && errno == EINTR) continue;
      if (n != 0) return n > 0;
      if (left <= kXfrCancelPollMs) return false;
    }
  }

  bool make_query(std::vector<uint8_t>& out, std::string& err) {
    RdfPtr zone(ldns_dname_new_frm_str((req_.zone + ".").c_str()));
    if (!zone) {
      err = "bad zone name";
      return false;
    }
    const ldns_rr_type type = req_.ixfr_from ? LDNS_RR_TYPE_IXFR : LDNS_RR_TYPE_AXFR;
    PktPtr q(ldns_pkt_query_new(ldns_rdf_clone(zone.get()), type, LDNS_RR_CLASS_IN, 0));
    std::random_device rd;
    id_ = static_cast<uint16_t>(rd());
    ldns_pkt_set_id(q.get(), id_);
    if (req_.ixfr_from) {
      ldns_rr* soa = nullptr;
      const std::string text =
          fmt::format("{}. 0 IN SOA . . {} 0 0 0 0", req_.zone, *req_.ixfr_from);
      if (ldns_rr_new_frm_str(&soa, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
        err = "cannot make the IXFR request";
        return false;
      }
      ldns_pkt_push_rr(q.get(), LDNS_SECTION_AUTHORITY, soa);
    }
    if (req_.tsig) {
      const std::string alg = ldns_tsig_algorithm_name(req_.tsig->algorithm);
      if (ldns_pkt_tsig_sign(q.get(), req_.tsig->name.c_str(), req_.tsig->secret.c_str(), 300,
                             alg.c_str(), nullptr) != LDNS_STATUS_OK) {
        err = "cannot sign the request with the TSIG key";
        return false;
      }
      mac_.reset(ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(q.get()), 3)));
    }
    uint8_t* wire = nullptr;
    size_t size = 0;
    if (ldns_pkt2wire(&wire, q.get(), &size) != LDNS_STATUS_OK) {
      err = "cannot encode the request";
      return false;
    }
    out.resize(2 + size);
    out[0] = static_cast<uint8_t>(size >> 8);
    out[1] = static_cast<uint8_t>(size);
    std::memcpy(out.data() + 2, wire, size);
    free(wire);
    return true;
  }

  bool send_all(int fd, const std::vector<uint8_t>& b) {
    size_t done = 0;
    while (done < b.size()) {
      if (!wait(fd, POLLOUT, remaining_ms())) return false;
      const ssize_t n = ::send(fd, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads exactly n bytes; "" or the failure reason ("timeout", "truncated", "network").
  std::string read_exact(int fd, uint8_t* p, size_t n) {
    size_t done = 0;
    while (done < n) {
      const int ms = std::min(remaining_ms(), static_cast<int>(req_.read_timeout_ms));
      if (!wait(fd, POLLIN, ms)) return cancelled() ? "cancelled" : "timeout";
      const ssize_t got = ::recv(fd, p + done, n - done, 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got < 0) return "network";
      if (got == 0) return "truncated";  // the primary closed mid-transfer
      done += static_cast<size_t>(got);
    }
    return "";
  }

  XfrResult read_answer(int fd) {
    XfrResult r;
    size_t msg_index = 0;
    bool done = false;
    while (!done) {
      uint8_t lenb[2];
      std::string why = read_exact(fd, lenb, 2);
      if (!why.empty())
        return fail(
            why, fmt::format("{} after {} messages, {} records",
                             why == "truncated" ? "connection closed" : why, msg_index, records_));
      const size_t len = (size_t{lenb[0]} << 8) | lenb[1];
      bytes_ += 2 + len;
      if (bytes_ > req_.max_bytes)
        return fail("too_big", fmt::format("the transfer is over {} bytes", req_.max_bytes));
      buf_.resize(len);
      why = read_exact(fd, buf_.data(), len);
      if (!why.empty()) return fail(why, fmt::format("{} inside message {}", why, msg_index + 1));
      ldns_pkt* raw = nullptr;
      if (ldns_wire2pkt(&raw, buf_.data(), len) != LDNS_STATUS_OK)
        return fail("malformed", fmt::format("message {} is not DNS", msg_index + 1));
      PktPtr pkt(raw);
      if (ldns_pkt_id(pkt.get()) != id_ || !ldns_pkt_qr(pkt.get()))
        return fail("malformed", "an answer to another request");
      const auto rcode = ldns_pkt_get_rcode(pkt.get());
      if (req_.tsig) {
        const ldns_rr* t = ldns_pkt_tsig(pkt.get());
        if (!t) {
          if (rcode == LDNS_RCODE_NOTAUTH)
            return fail("tsig", "NOTAUTH: the primary does not accept our TSIG key");
          return fail("tsig", fmt::format("message {} is not signed", msg_index + 1));
        }
        if (!ldns_pkt_tsig_verify_next(pkt.get(), buf_.data(), len, req_.tsig->name.c_str(),
                                       req_.tsig->secret.c_str(), mac_.get(),
                                       msg_index > 0 ? 1 : 0))
          return fail("tsig", fmt::format("message {}: bad TSIG signature", msg_index + 1));
        mac_.reset(ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt.get()), 3)));
      }
      if (rcode != LDNS_RCODE_NOERROR) {
        char* rc = ldns_pkt_rcode2str(rcode);
        auto out = fail(rcode == LDNS_RCODE_NOTAUTH ? "tsig" : "refused",
                        fmt::format("the primary answered {}", rc ? rc : "?"));
        free(rc);
        out.ixfr_refused = req_.ixfr_from && msg_index == 0;
        return out;
      }
      ++msg_index;
      const ldns_rr_list* an = ldns_pkt_answer(pkt.get());
      const size_t n = an ? ldns_rr_list_rr_count(an) : 0;
      if (n == 0) return fail("malformed", "a message without records");
      for (size_t i = 0; i < n && !done; ++i) {
        std::string err, reason;
        if (!record(ldns_rr_list_rr(an, i), r, done, reason, err)) return fail(reason, err);
      }
    }
    r.bytes = bytes_;
    return r;
  }

  // Takes the next record of the answer. Sets `done` at the closing SOA.
  bool record(const ldns_rr* rr, XfrResult& r, bool& done, std::string& reason, std::string& err) {
    if (++records_ > req_.max_records) {
      reason = "too_big";
      err = fmt::format("the transfer is over {} records", req_.max_records);
      return false;
    }
    const bool soa = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA;
    if (records_ == 1) {
      if (!soa) {
        reason = "malformed";
        err = "the transfer does not start with the zone's SOA";
        return false;
      }
      r.serial = soa_field(rr, 2);
      r.timers = {soa_field(rr, 3), soa_field(rr, 4), soa_field(rr, 5)};
      r.soa_line = canonical_line(rr);
      if (req_.ixfr_from && !serial_newer(r.serial, *req_.ixfr_from)) {
        // One SOA: we are up to date (or the primary is behind us).
        r.kind = XfrResult::Kind::kUpToDate;
        done = true;
      }
      return true;
    }
    if (records_ == 2) {
      if (req_.ixfr_from && soa) {
        mode_ = Mode::kIxfr;
        r.kind = XfrResult::Kind::kIncremental;
      } else {
        mode_ = Mode::kFull;
        r.kind = XfrResult::Kind::kFull;
        r.zone_text.reserve(1 << 20);
        r.zone_text += r.soa_line;
        r.zone_text += '\n';
        r.records = 1;
      }
    }
    if (mode_ == Mode::kFull) {
      if (soa) {
        if (soa_field(rr, 2) != r.serial) {
          reason = "inconsistent";
          err = fmt::format("the closing SOA has serial {}, the first {}", soa_field(rr, 2),
                            r.serial);
          return false;
        }
        done = true;
        return true;
      }
      r.zone_text += canonical_line(rr);
      r.zone_text += '\n';
      ++r.records;
      return true;
    }
    // IXFR: SOA(from) deletions SOA(to) additions, repeated, then the new SOA again.
    if (soa) {
      const uint32_t s = soa_field(rr, 2);
      if (in_add_ && s == r.serial && r.deltas.back().to == r.serial) {
        done = true;
        return true;
      }
      if (in_add_ || r.deltas.empty()) {  // a step begins where the last one ended
        const uint32_t expect = r.deltas.empty() ? *req_.ixfr_from : r.deltas.back().to;
        if (s != expect) {
          reason = "inconsistent";
          err = fmt::format("an IXFR step starts at serial {}, expected {}", s, expect);
          return false;
        }
        r.deltas.push_back(IxfrDelta{s, 0, {}, {}});
        in_add_ = false;
        return true;
      }
      if (!serial_newer(s, r.deltas.back().from)) {
        reason = "inconsistent";
        err = fmt::format("an IXFR step goes from serial {} back to {}", r.deltas.back().from, s);
        return false;
      }
      r.deltas.back().to = s;  // the deletions end
      in_add_ = true;
      return true;
    }
    if (r.deltas.empty()) {
      reason = "malformed";
      err = "an IXFR record outside a step";
      return false;
    }
    (in_add_ ? r.deltas.back().added : r.deltas.back().deleted).push_back(canonical_line(rr));
    return true;
  }

  enum class Mode : uint8_t { kUnknown, kFull, kIxfr };
  const XfrRequest& req_;
  Clock::time_point deadline_;
  uint16_t id_ = 0;
  RdfPtr mac_;
  std::vector<uint8_t> buf_;
  uint64_t bytes_ = 0, records_ = 0;
  Mode mode_ = Mode::kUnknown;
  bool in_add_ = false;  // IXFR: between a step's new SOA and the next SOA
};

}  // namespace

std::string ldns_tsig_algorithm_name(const std::string& algorithm) {
  if (algorithm == "hmac-md5") return "hmac-md5.sig-alg.reg.int.";
  return algorithm + ".";
}

XfrResult transfer(const XfrRequest& req) {
  return Session(req).run();
}

}  // namespace sinkhole::feeds
