// SPDX-License-Identifier: MIT
#include "resolver/upstream/upstream_pool.h"

#include <spdlog/spdlog.h>
#include <algorithm>

#include <cstring>

#include "resolver/dns/name.h"

namespace sinkhole::upstream {

using metrics::Counter;

ReplyCheck check_reply(const PendingQuery& q, const uint8_t* resp, size_t len,
                       dns::MessageView& m) noexcept {
  if (len < dns::kHeaderSize) return ReplyCheck::kMalformed;
  if (dns::read_u16(resp + dns::kOffId) != q.id) return ReplyCheck::kSpoofed;
  const uint16_t f = dns::read_u16(resp + dns::kOffFlags);
  if (!(f & dns::flags::kQr) || (f & dns::flags::kOpcodeMask)) return ReplyCheck::kSpoofed;
  m = dns::parse_message(resp, len);
  if (!m.ok) return ReplyCheck::kMalformed;
  if (m.qname_len != q.qname_len || m.qtype != q.qtype || m.qclass != q.qclass ||
      !dns::wire_names_equal_ci(resp + dns::kHeaderSize, q.qname(), q.qname_len))
    return ReplyCheck::kSpoofed;
  return ReplyCheck::kAccept;
}

size_t build_upstream_query(const PendingQuery& q, uint16_t id, uint16_t payload, uint8_t* out) {
  dns::write_u16(out + dns::kOffId, id);
  dns::write_u16(out + dns::kOffFlags, dns::flags::kRd | (q.cd_bit ? dns::flags::kCd : 0));
  dns::write_u16(out + dns::kOffQdCount, 1);
  dns::write_u16(out + dns::kOffAnCount, 0);
  dns::write_u16(out + dns::kOffNsCount, 0);
  dns::write_u16(out + dns::kOffArCount, 1);
  size_t pos = dns::kHeaderSize;
  std::memcpy(out + pos, q.qname(), q.qname_len);
  pos += q.qname_len;
  dns::write_u16(out + pos, q.qtype);
  dns::write_u16(out + pos + 2, q.qclass);
  pos += 4;
  out[pos] = 0;
  dns::write_u16(out + pos + 1, dns::rrtype::kOpt);
  dns::write_u16(out + pos + 3, payload);
  // The client's DO travels upstream so that DO=1 gets RRSIGs and DO=0 does not.
  dns::write_u32(out + pos + 5, q.do_bit ? dns::kEdnsDoBit : 0);
  dns::write_u16(out + pos + 9, 0);
  return pos + dns::kOptFixedSize;
}

namespace {

const char* error_text(metrics::UpstreamStats::Error e) {
  using E = metrics::UpstreamStats::Error;
  switch (e) {
    case E::kTimeout:
      return "timed out";
    case E::kSocket:
      return "failed (socket error)";
    case E::kRcode:
      return "answered SERVFAIL/REFUSED";
    case E::kBadReply:
      return "sent a bad reply";
    case E::kNone:
      break;
  }
  return "failed";
}

}  // namespace

// --- UpstreamPool ----------------------------------------------------------------------

UpstreamPool::UpstreamPool(Options opts, Transport& transport, const Clock& clock,
                           metrics::WorkerCounters& counters, UpstreamDelegate& delegate)
    : opts_(std::move(opts)),
      transport_(transport),
      clock_(clock),
      counters_(counters),
      own_stats_(opts_.stats ? nullptr
                             : std::make_unique<metrics::UpstreamStats>(opts_.servers.size())),
      stats_(opts_.stats ? opts_.stats : own_stats_.get()),
      slots_(opts_.stat_slots),
      delegate_(delegate),
      busy_(opts_.servers.size(), 0) {
  if (!opts_.stats || slots_.size() != opts_.servers.size()) {
    slots_.resize(opts_.servers.size());
    for (unsigned i = 0; i < slots_.size(); ++i) slots_[i] = i;
  }
  transport_.set_events(*this);
}

UpstreamPool::~UpstreamPool() = default;

void UpstreamPool::start(PendingQuery& q, uint64_t deadline_cap_ms) {
  q.deadline_ms =
      std::min(clock_.now_ms() + static_cast<uint64_t>(opts_.deadline.count()), deadline_cap_ms);
  q.pool = this;
  ++active_;
  attempt(q);
}

uint64_t UpstreamPool::attempt_timeout(const PendingQuery& q) const {
  const uint64_t now = clock_.now_ms();
  if (now >= q.deadline_ms) return 0;
  return std::min<uint64_t>(q.deadline_ms - now, static_cast<uint64_t>(opts_.timeout.count()));
}

UpstreamPool::Pick UpstreamPool::pick_upstream(PendingQuery& q) {
  const unsigned n = static_cast<unsigned>(opts_.servers.size());
  bool busy = false;
  // First an upstream not yet tried for this question, then (after timeouts only) a retry.
  for (unsigned pass = 0; pass < 2; ++pass) {
    for (unsigned i = 0; i < n; ++i) {
      const unsigned idx = (preferred_ + i) % n;
      const uint32_t bit = 1u << idx;
      if (q.failed & bit) continue;
      if (pass == 0 && (q.tried & bit)) continue;
      if (busy_[idx] >= opts_.max_inflight_per_upstream) {
        busy = true;
        continue;
      }
      q.upstream = idx;
      q.tried |= bit;
      return Pick::kPicked;
    }
  }
  return busy ? Pick::kBusy : Pick::kNone;
}

void UpstreamPool::count_sent(PendingQuery& q) {
  counters_.inc(Counter::kUpstreamQueries);
  stats_->inc(slot(q.upstream), metrics::UpstreamStats::kQueries);
  q.attempt_ns = clock_.now_ns();
  q.attempt_open = true;
  ++busy_[q.upstream];
}

void UpstreamPool::note_failure(const PendingQuery& q, metrics::UpstreamStats::Error e) {
  stats_->note_failure(slot(q.upstream), clock_.now_ms(), e);
  if (!debug_ || !DebugLog::on() || !debug_->allow(clock_.now_ms())) return;
  spdlog::debug("upstream: {} {} for {} type {} after {} ms; failing over",
                opts_.servers[q.upstream].to_string(), error_text(e),
                dns::wire_to_log_text(q.qname(), q.qname_len), q.qtype,
                (clock_.now_ns() - q.attempt_ns) / 1'000'000);
}

void UpstreamPool::debug_attempt(const PendingQuery& q, bool tcp) {
  if (!debug_ || !DebugLog::on() || !debug_->allow(clock_.now_ms())) return;
  spdlog::debug("upstream: asking {} for {} type {} over {}{}",
                opts_.servers[q.upstream].to_string(),
                dns::wire_to_log_text(q.qname(), q.qname_len), q.qtype,
                tcp ? "tcp (truncated over udp)" : "udp",
                q.upstream == preferred_ ? "" : " (not the preferred upstream: failover)");
}

void UpstreamPool::detach(PendingQuery& q) {
  transport_.cancel(q);
  if (q.attempt_open) {
    q.attempt_open = false;
    --busy_[q.upstream];
  }
}

void UpstreamPool::fail(PendingQuery& q) {
  detach(q);
  counters_.inc(q.failure == PendingQuery::Failure::kUpstreamLimit ? Counter::kUpstreamLimitUpstream
                                                                   : Counter::kUpstreamAllFailed);
  if (debug_ && DebugLog::on() && debug_->allow(clock_.now_ms()))
    spdlog::debug("upstream: giving up on {} type {}: {}",
                  dns::wire_to_log_text(q.qname(), q.qname_len), q.qtype,
                  q.failure == PendingQuery::Failure::kUpstreamLimit
                      ? "every usable upstream is at upstream.max_inflight_per_upstream"
                      : "no upstream answered within the deadline");
  --active_;
  delegate_.on_upstream_failure(q);
}

void UpstreamPool::attempt(PendingQuery& q) {
  detach(q);
  const uint64_t timeout = attempt_timeout(q);
  if (timeout == 0) return fail(q);
  switch (pick_upstream(q)) {
    case Pick::kPicked:
      break;
    case Pick::kNone:
      return fail(q);
    case Pick::kBusy: {
      q.failure = PendingQuery::Failure::kUpstreamLimit;
      uint64_t skipped = 0;
      if (limit_log_.due(LimitReason::kUpstream, clock_.now_ms(), skipped))
        spdlog::warn(
            "upstream limit: every usable upstream has {} attempts in flight on this worker "
            "(upstream.max_inflight_per_upstream); answering stale or SERVFAIL ({} more since "
            "the last line)",
            opts_.max_inflight_per_upstream, skipped);
      return fail(q);
    }
  }
  q.id = random_.next_u16();
  const size_t len = build_upstream_query(q, q.id, opts_.payload, tx_);
  count_sent(q);
  debug_attempt(q, /*tcp=*/false);
  if (!transport_.send(q, opts_.servers[q.upstream], q.upstream, /*tcp=*/false, tx_, len,
                       timeout)) {
    counters_.inc(Counter::kUpstreamErrors);
    note_failure(q, metrics::UpstreamStats::Error::kSocket);
    on_attempt_failed(q, /*hard=*/true);
  }
}

void UpstreamPool::attempt_tcp(PendingQuery& q) {
  detach(q);
  const uint64_t timeout = attempt_timeout(q);
  if (timeout == 0) return fail(q);
  q.id = random_.next_u16();
  const size_t len = build_upstream_query(q, q.id, opts_.payload, tx_);
  count_sent(q);
  debug_attempt(q, /*tcp=*/true);
  if (!transport_.send(q, opts_.servers[q.upstream], q.upstream, /*tcp=*/true, tx_, len, timeout)) {
    counters_.inc(Counter::kUpstreamErrors);
    note_failure(q, metrics::UpstreamStats::Error::kSocket);
    on_attempt_failed(q, /*hard=*/true);
  }
}

void UpstreamPool::on_attempt_failed(PendingQuery& q, bool hard) {
  const unsigned n = static_cast<unsigned>(opts_.servers.size());
  stats_->inc(slot(q.upstream),
              hard ? metrics::UpstreamStats::kFailures : metrics::UpstreamStats::kTimeouts);
  if (hard) q.failed |= 1u << q.upstream;
  if (preferred_ == q.upstream) {
    preferred_ = (preferred_ + 1) % n;
    stats_->set_preferred(slot(preferred_));
  }
  attempt(q);
}

void UpstreamPool::on_transport_timeout(PendingQuery& q) {
  counters_.inc(Counter::kUpstreamTimeouts);
  note_failure(q, metrics::UpstreamStats::Error::kTimeout);
  on_attempt_failed(q, /*hard=*/false);
}

void UpstreamPool::on_transport_error(PendingQuery& q) {
  counters_.inc(Counter::kUpstreamErrors);
  note_failure(q, metrics::UpstreamStats::Error::kSocket);
  on_attempt_failed(q, /*hard=*/true);
}

void UpstreamPool::on_transport_reply(PendingQuery& q, const uint8_t* data, size_t len,
                                      bool over_tcp) {
  dns::MessageView m;
  switch (check_reply(q, data, len, m)) {
    case ReplyCheck::kSpoofed:
      counters_.inc(Counter::kUpstreamSpoofed);
      if (over_tcp) {
        note_failure(q, metrics::UpstreamStats::Error::kBadReply);
        on_attempt_failed(q, /*hard=*/true);
      }
      return;  // over UDP, keep waiting: the real reply may still come
    case ReplyCheck::kMalformed:
      counters_.inc(Counter::kUpstreamBadResponses);
      if (over_tcp) {
        note_failure(q, metrics::UpstreamStats::Error::kBadReply);
        on_attempt_failed(q, /*hard=*/true);
      }
      return;
    case ReplyCheck::kAccept:
      stats_->observe(slot(q.upstream), clock_.now_ns() - q.attempt_ns);
      break;
  }
  const uint16_t rcode = m.rcode();
  const bool rcode_failure = rcode == static_cast<uint16_t>(dns::Rcode::kServFail) ||
                             rcode == static_cast<uint16_t>(dns::Rcode::kRefused);
  if (rcode_failure)
    note_failure(q, metrics::UpstreamStats::Error::kRcode);
  else if (m.opt_is_last())
    stats_->note_answer(slot(q.upstream), clock_.now_ms(), (clock_.now_ns() - q.attempt_ns) / 1000);
  if (m.truncated() && !over_tcp) {
    counters_.inc(Counter::kUpstreamTcpRetries);
    attempt_tcp(q);
    return;
  }
  if (rcode_failure) {
    counters_.inc(Counter::kUpstreamRcodeFailures);
    const uint32_t all = opts_.servers.size() >= 32 ? ~0u : (1u << opts_.servers.size()) - 1;
    const bool another_left = ((q.tried | q.failed | (1u << q.upstream)) & all) != all;
    if (another_left && attempt_timeout(q) > 0) {
      on_attempt_failed(q, /*hard=*/true);
      return;
    }
  }
  if (!m.opt_is_last()) {
    // Records after OPT would move when OPT is replaced, breaking compression pointers.
    counters_.inc(Counter::kUpstreamBadResponses);
    if (!rcode_failure) note_failure(q, metrics::UpstreamStats::Error::kBadReply);
    on_attempt_failed(q, /*hard=*/true);
    return;
  }
  if (preferred_ != q.upstream) {
    preferred_ = q.upstream;
    stats_->set_preferred(slot(preferred_));
  }
  detach(q);
  --active_;
  delegate_.on_upstream_answer(q, data, m);
}

}  // namespace sinkhole::upstream
