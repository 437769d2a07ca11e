// SPDX-License-Identifier: MIT
#include "resolver/observe/health_monitor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "resolver/observe/server_state.h"

namespace sinkhole::observe {

namespace {

using Stats = metrics::UpstreamStats;

const char* error_name(Stats::Error e) {
  switch (e) {
    case Stats::Error::kTimeout:
      return "timeout";
    case Stats::Error::kSocket:
      return "socket error";
    case Stats::Error::kRcode:
      return "SERVFAIL/REFUSED";
    case Stats::Error::kBadReply:
      return "bad reply";
    case Stats::Error::kNone:
      break;
  }
  return "";
}

int64_t unix_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// Loop time (monotonic ms) → wall clock ms; 0 stays 0 (never).
int64_t to_unix(uint64_t t_ms, uint64_t now_ms, int64_t now_unix_ms) {
  if (t_ms == 0) return 0;
  return now_unix_ms - static_cast<int64_t>(now_ms - std::min(t_ms, now_ms));
}

std::string last_error_of(const std::vector<HealthMonitor::UpstreamRow>& rows,
                          const std::string& address) {
  for (const auto& r : rows)
    if (r.address == address) return r.last_error;
  return {};
}

}  // namespace

void HealthMonitor::tick(uint64_t now_ms) {
  // The upstreams in service now (a reload may have changed them) and each one's row in
  // the workers' UpstreamStats (upstream/upstream_slots.h); without live settings (tests)
  // the start-up config's, row = position.
  const auto live = state_.live ? state_.live->current() : nullptr;
  const auto& servers = live ? live->config->upstream.servers : state_.cfg->upstream.servers;
  std::vector<size_t> row_of(servers.size());
  for (size_t u = 0; u < servers.size(); ++u)
    row_of[u] = live && u < live->upstream_rows.size() ? live->upstream_rows[u] : u;
  const auto& workers = *state_.workers;
  size_t n = servers.size();
  for (const auto& w : workers)
    while (n > 0 && row_of[n - 1] >= w->upstream_stats().size()) --n;
  const int64_t now_unix = unix_ms();

  std::vector<UpstreamRow> rows(n);
  std::vector<UpstreamHealth::Change> changes(n);
  std::vector<UpstreamSample> samples(n);
  std::vector<uint64_t> down_for_ms(n, 0);
  std::vector<WorkerUpstreamView> views;
  views.reserve(workers.size());
  std::map<std::string, UpstreamHealth> trackers;
  // The upstream most workers ask first: a change is a failover, logged once.
  std::vector<size_t> votes(n, 0);
  for (const auto& w : workers)
    for (size_t u = 0; u < n; ++u)
      if (w->upstream_stats().preferred() == row_of[u]) ++votes[u];
  const size_t primary =
      n ? static_cast<size_t>(std::max_element(votes.begin(), votes.end()) - votes.begin()) : 0;
  for (size_t u = 0; u < n; ++u) {
    UpstreamRow& r = rows[u];
    r.address = servers[u].to_string();
    UpstreamSample& s = samples[u];
    uint64_t last_failure = 0, srtt_sum = 0, srtt_n = 0;
    Stats::Error last_error = Stats::Error::kNone;
    const size_t row = row_of[u];
    views.clear();
    for (const auto& w : workers) {
      const Stats& st = w->upstream_stats();
      r.queries += st.get(row, Stats::kQueries);
      r.answers += st.get(row, Stats::kAnswers);
      r.timeouts += st.get(row, Stats::kTimeouts);
      r.errors += st.get(row, Stats::kFailures);
      views.push_back(
          {st.failures_since_answer(row), st.last_answer_ms(row), st.last_failure_ms(row)});
      if (st.last_failure_ms(row) > last_failure) {
        last_failure = st.last_failure_ms(row);
        last_error = st.last_error(row);
      }
      if (const uint64_t srtt = st.srtt_us(row)) {
        srtt_sum += srtt;
        ++srtt_n;
      }
    }
    s = merge_worker_views(views.data(), views.size(), workers.empty() || votes[u] > 0);
    r.failures_since_answer = s.failures_since_answer;
    r.srtt_ms = srtt_n ? static_cast<double>(srtt_sum) / static_cast<double>(srtt_n) / 1000.0 : 0;
    r.last_answer_unix_ms = to_unix(s.last_answer_ms, now_ms, now_unix);
    r.last_error = error_name(last_error);
    r.last_error_unix_ms = to_unix(last_failure, now_ms, now_unix);

    auto found = trackers_.find(r.address);
    UpstreamHealth h = found != trackers_.end() ? found->second : UpstreamHealth(start_ms_);
    const uint64_t down_since = h.since_ms();
    changes[u] = h.update(s, now_ms);
    if (changes[u] == UpstreamHealth::Change::kCameUp)
      down_for_ms[u] = h.since_ms() - std::min(h.since_ms(), down_since);
    r.up = h.up();
    r.state_since_unix_ms = to_unix(h.since_ms(), now_ms, now_unix);
    trackers.insert_or_assign(r.address, h);
  }
  trackers_ = std::move(trackers);

  // Logged after every state moved, so a failover names an upstream that is up now.
  for (size_t u = 0; u < n; ++u) {
    if (changes[u] == UpstreamHealth::Change::kCameUp) {
      spdlog::info("upstream {} is up again: answered after {:.1f} s down", rows[u].address,
                   static_cast<double>(down_for_ms[u]) / 1000.0);
      continue;
    }
    if (changes[u] != UpstreamHealth::Change::kWentDown) continue;
    std::string failover = "no upstream is up: clients get stale answers or SERVFAIL";
    for (size_t i = 1; i < n; ++i) {
      const size_t next = (u + i) % n;
      if (rows[next].up) {
        failover = "queries fail over to " + rows[next].address;
        break;
      }
    }
    const uint64_t quiet_from = std::max(samples[u].last_answer_ms, start_ms_);
    spdlog::warn(
        "upstream {} is down: {} failed attempt(s) and no answer for {:.1f} s (last "
        "error: {}); {}",
        rows[u].address, samples[u].failures_since_answer,
        static_cast<double>(now_ms - std::min(now_ms, quiet_from)) / 1000.0,
        rows[u].last_error.empty() ? "none" : rows[u].last_error, failover);
  }
  // Every pool starts with the first upstream.
  if (primary_.empty() && n) primary_ = rows[0].address;
  if (n > 1 && primary_ != rows[primary].address)
    spdlog::info("upstream failover: queries go to {} first now (was {}{}{})",
                 rows[primary].address, primary_,
                 last_error_of(rows, primary_).empty() ? "" : ", last error: ",
                 last_error_of(rows, primary_));
  primary_ = n ? rows[primary].address : std::string();
  watch_heartbeats(now_ms);
  std::lock_guard lock(mu_);
  rows_ = std::move(rows);
}

void HealthMonitor::watch_heartbeats(uint64_t now_ms) {
  const auto& workers = *state_.workers;
  if (beats_.size() != workers.size()) {
    beats_.assign(workers.size(), 0);
    beat_moved_ms_.assign(workers.size(), now_ms);
  }
  std::vector<size_t> stuck;
  for (size_t i = 0; i < workers.size(); ++i) {
    const uint64_t b = workers[i]->heartbeat();
    if (b != beats_[i]) {
      beats_[i] = b;
      beat_moved_ms_[i] = now_ms;
    } else if (now_ms - beat_moved_ms_[i] >= kStuckAfterMs) {
      stuck.push_back(i);
    }
  }
  std::lock_guard lock(mu_);
  stuck_ = std::move(stuck);
}

std::vector<HealthMonitor::UpstreamRow> HealthMonitor::upstreams() const {
  std::lock_guard lock(mu_);
  return rows_;
}

std::vector<size_t> HealthMonitor::stuck_workers() const {
  std::lock_guard lock(mu_);
  return stuck_;
}

HealthInput HealthMonitor::health_input() const {
  HealthInput in;
  const auto snap = state_.holder->current();
  in.lists_loaded = snap != nullptr && snap->generation > 0;
  in.generation = snap ? snap->generation : 0;
  if (snap)
    for (const auto& l : snap->lists)
      if (l.pending) in.pending_lists.push_back(l.name);
  in.last_reload_error = state_.reloads ? state_.reloads->last_error() : std::string();
  std::lock_guard lock(mu_);
  in.stuck_workers = stuck_;
  in.upstreams = rows_.size();
  for (const auto& r : rows_) in.upstreams_up += r.up ? 1 : 0;
  return in;
}

}  // namespace sinkhole::observe
