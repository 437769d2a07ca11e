// SPDX-License-Identifier: MIT
// PipelineFixture: one worker's query pipeline driven in-process through its three seams —
// a FakeClock (time moves only when a test says so), a FakeTransport (records every upstream
// attempt; the test answers it, fails it, or lets its timeout fire) and a RecordingSink
// (every reply the pipeline sends, as bytes, with the endpoint it was for). The real
// UpstreamPool, InflightTable, PacketCache and policy snapshot (built from YAML text and
// list files in a temp dir) sit in between, so a test sees what a client would see.
// Idea: Unbound replays scenarios through testcode/fake_event.c; PowerDNS drives SyncRes
// through setAsyncCallback. Test thread only.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../../policy/temp_dir.h"
#include "../dns/test_packet.h"
#include "policy/snapshot_builder.h"
#include "policy/snapshot_holder.h"
#include "resolver/cache/packet_cache.h"
#include "resolver/config/config.h"
#include "resolver/dns/message_view.h"
#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"
#include "resolver/pipeline/query_pipeline.h"
#include "resolver/upstream/upstream_pool.h"

namespace sinkhole::test {

class FakeClock final : public upstream::Clock {
 public:
  uint64_t ms = 5'000'000;  // any start: only differences matter
  uint64_t now_ms() const override { return ms; }
  uint64_t now_ns() const override { return ms * 1'000'000; }
  int64_t unix_seconds() const override { return 1'800'000'000 + static_cast<int64_t>(ms / 1000); }
  uint64_t wall_ns() const override {
    return static_cast<uint64_t>(unix_seconds()) * 1'000'000'000;
  }
};

struct SentReply {
  net::ClientEndpoint to;
  std::vector<uint8_t> bytes;
  uint64_t at_ms = 0;  // the fake clock when it was sent
};

class RecordingSink final : public pipeline::ReplySink {
 public:
  explicit RecordingSink(const FakeClock& clock) : clock_(clock) {}
  std::vector<SentReply> sent;
  size_t received_count = 0;
  // Holds minus releases per client endpoint (transport, address, port): every entry is 0
  // once every deferred answer is done.
  std::map<std::string, int> held;

  void received(const net::ClientEndpoint&, const uint8_t*, size_t) override { ++received_count; }
  void send(const net::ClientEndpoint& to, const uint8_t* data, size_t len) override {
    sent.push_back({to, std::vector<uint8_t>(data, data + len), clock_.ms});
  }
  void hold(const net::ClientEndpoint& to) override { ++held[key(to)]; }
  void release(const net::ClientEndpoint& to) override { --held[key(to)]; }
  bool none_held() const {
    for (const auto& [k, n] : held)
      if (n != 0) return false;
    return true;
  }

 private:
  static std::string key(const net::ClientEndpoint& e) {
    return std::string(e.is_tcp() ? "tcp " : "udp ") +
           std::string(reinterpret_cast<const char*>(&e.addr), sizeof e.addr);
  }
  const FakeClock& clock_;
};

// One upstream attempt as the pool sent it.
struct Attempt {
  upstream::PendingQuery* q = nullptr;
  unsigned upstream = 0;
  bool tcp = false;
  std::vector<uint8_t> query;
  uint64_t expires_ms = 0;
  bool live = true;  // not cancelled, not answered, not timed out
};

class FakeTransport final : public upstream::Transport {
 public:
  explicit FakeTransport(FakeClock& clock) : clock_(clock) {}
  std::vector<Attempt> attempts;
  std::vector<bool> refuse_send;  // per upstream: send() fails at once (socket error)

  void set_events(upstream::TransportEvents& e) override { events_ = &e; }
  bool send(upstream::PendingQuery& q, const config::SocketAddress&, unsigned upstream, bool tcp,
            const uint8_t* data, size_t len, uint64_t timeout_ms) override {
    if (upstream < refuse_send.size() && refuse_send[upstream]) return false;
    attempts.push_back(
        {&q, upstream, tcp, std::vector<uint8_t>(data, data + len), clock_.ms + timeout_ms, true});
    return true;
  }
  void cancel(upstream::PendingQuery& q) override {
    for (auto& a : attempts)
      if (a.q == &q) a.live = false;
  }
  void close() override {}

  size_t live_count() const {
    size_t n = 0;
    for (const auto& a : attempts) n += a.live;
    return n;
  }
  // The upstream answers attempt `i` with `bytes`.
  void reply(size_t i, const std::vector<uint8_t>& bytes) {
    REQUIRE(i < attempts.size());
    REQUIRE(attempts[i].live);
    events_->on_transport_reply(*attempts[i].q, bytes.data(), bytes.size(), attempts[i].tcp);
  }
  void error(size_t i) {
    REQUIRE(attempts[i].live);
    attempts[i].live = false;
    events_->on_transport_error(*attempts[i].q);
  }
  // Moves the clock on by `ms`, firing the timeout of every attempt that expires meanwhile
  // (in order; a timeout may start a new attempt, which is then considered too).
  void advance(uint64_t ms) {
    const uint64_t until = clock_.ms + ms;
    for (;;) {
      size_t next = attempts.size();
      for (size_t i = 0; i < attempts.size(); ++i)
        if (attempts[i].live && attempts[i].expires_ms <= until &&
            (next == attempts.size() || attempts[i].expires_ms < attempts[next].expires_ms))
          next = i;
      if (next == attempts.size()) break;
      clock_.ms = std::max(clock_.ms, attempts[next].expires_ms);
      attempts[next].live = false;
      events_->on_transport_timeout(*attempts[next].q);
    }
    clock_.ms = until;
  }

 private:
  FakeClock& clock_;
  upstream::TransportEvents* events_ = nullptr;
};

// --- messages -----------------------------------------------------------------------------

struct QueryOptions {
  uint16_t id = 0x1234;
  bool edns = true;
  bool do_bit = false;
  uint16_t payload = 1232;
};

inline std::vector<uint8_t> make_query(std::string_view name, uint16_t qtype,
                                       const QueryOptions& o = {}) {
  PacketWriter p;
  p.header(o.id, 0x0100, 1, 0, 0, o.edns ? 1 : 0).question(name, qtype);
  if (o.edns) p.opt(o.payload, 0, 0, o.do_bit);
  return p.bytes();
}

// One answer record for a response built by answer_to().
struct Rr {
  std::string owner;  // "" = the question name (compressed to it)
  uint16_t type = 1;
  uint32_t ttl = 300;
  std::vector<uint8_t> rdata;
};
inline Rr a_record(std::string owner, std::vector<uint8_t> ip, uint32_t ttl = 300) {
  return {std::move(owner), 1, ttl, std::move(ip)};
}
inline Rr cname_record(std::string owner, std::string_view target, uint32_t ttl = 300) {
  return {std::move(owner), 5, ttl, wire_name(target)};
}

struct ResponseOptions {
  uint16_t rcode = 0;
  bool tc = false;
  std::vector<Rr> authority = {};
};

// The upstream's response to the query bytes of an attempt: its ID and question echoed.
inline std::vector<uint8_t> answer_to(const std::vector<uint8_t>& query,
                                      const std::vector<Rr>& answers,
                                      const ResponseOptions& o = {}) {
  const dns::QueryView qv = dns::parse_query(query.data(), query.size());
  REQUIRE(qv.ok());
  PacketWriter p;
  const uint16_t flags = static_cast<uint16_t>(0x8180 | (o.tc ? 0x0200 : 0) | (o.rcode & 0xF));
  p.header(get_u16(query.data()), flags, 1, static_cast<uint16_t>(answers.size()),
           static_cast<uint16_t>(o.authority.size()), 1);
  p.raw(std::vector<uint8_t>(query.begin() + 12, query.begin() + 12 + qv.question_len()));
  auto rr = [&](const Rr& r) {
    if (r.owner.empty())
      p.pointer(12);
    else
      p.name(r.owner);
    p.rr_tail(r.type, 1, r.ttl, r.rdata);
  };
  for (const auto& r : answers) rr(r);
  for (const auto& r : o.authority) rr(r);
  p.opt(1232);
  return p.bytes();
}

inline std::vector<uint8_t> soa_rdata(std::string_view apex, uint32_t minimum) {
  PacketWriter p;
  p.name(std::string("ns.") + std::string(apex)).name(std::string("admin.") + std::string(apex));
  p.u32(1).u32(3600).u32(600).u32(86400).u32(minimum);
  return p.bytes();
}

// A reply as a test reads it.
struct Answer {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t rcode = 0;
  struct Record {
    uint16_t type;
    uint32_t ttl;
    std::vector<uint8_t> rdata;
    std::string owner;  // presentation form, lower-cased
  };
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::optional<uint16_t> ede;  // the EDE info code, when an OPT carried one
  std::string ede_text;

  bool tc() const { return flags & 0x0200; }
  std::vector<std::string> a_addresses() const {
    std::vector<std::string> out;
    for (const auto& r : answers) {
      char buf[INET6_ADDRSTRLEN] = {};
      if (r.type == 1 && r.rdata.size() == 4)
        out.push_back(inet_ntop(AF_INET, r.rdata.data(), buf, sizeof buf));
      if (r.type == 28 && r.rdata.size() == 16)
        out.push_back(inet_ntop(AF_INET6, r.rdata.data(), buf, sizeof buf));
    }
    return out;
  }
};

Answer read_answer(const std::vector<uint8_t>& bytes);

// --- the fixture --------------------------------------------------------------------------

class PipelineFixture {
 public:
  // `policy_yaml`: the lists/actions/policies part of a config (may be empty: a plain
  // forwarder); `lists`: files written next to the config, as {name, text}.
  // `upstream_yaml`: more keys of the `upstream:` section, each line indented by two.
  // `server_yaml`: more keys of the `server:` section, indented by two spaces; by default
  // every client is admitted (tests of the admit stage pass their own).
  explicit PipelineFixture(const std::string& policy_yaml = "",
                           const std::vector<std::pair<std::string, std::string>>& lists = {},
                           unsigned upstreams = 2, bool with_cache = true,
                           const std::string& upstream_yaml = "",
                           std::string server_yaml = kAdmitEveryone);
  static constexpr const char* kAdmitEveryone = "  allow_query: [\"0.0.0.0/0\", \"::/0\"]\n";
  ~PipelineFixture();

  // A query from `client` (an IPv4 or IPv6 address; port 40000) over UDP, or TCP when `tcp`.
  void query(const std::vector<uint8_t>& bytes, const std::string& client = "127.0.0.1",
             bool tcp = false);
  // The endpoint a query from `client` comes from (port 40000).
  net::ClientEndpoint endpoint(const std::string& client, bool tcp = false) const;
  // The last reply sent, read; fails the test when there is none.
  Answer last() const;
  // The question name of the last reply as sent ("www.Example."), "" when it has none.
  std::string last_question() const;
  size_t replies() const { return sink.sent.size(); }
  uint64_t counter(metrics::Counter c) const { return counters.get(c); }
  // Rebuilds the policy from new YAML (a reload); the pipeline sees it on its next query.
  void reload(const std::string& policy_yaml);
  // A reload's server settings, applied as a worker does (QueryPipeline::apply_settings):
  // the config text as at construction with these `server:` keys (indented by two),
  // these `upstream:` keys, and `more_yaml` (more top-level sections) appended. Returns
  // the Config applied (kept alive by the fixture).
  const config::Config& apply_settings(const std::string& server_yaml,
                                       const std::string& upstream_yaml = "",
                                       const std::string& more_yaml = "");
  std::vector<std::unique_ptr<config::Config>> applied;

  TempDir dir;
  FakeClock clock;
  RecordingSink sink{clock};
  FakeTransport transport{clock};
  metrics::WorkerCounters counters;
  policy::SnapshotHolder holder;
  std::unique_ptr<config::Config> cfg;
  std::unique_ptr<cache::PacketCache> cache;
  std::unique_ptr<pipeline::QueryPipeline> pipe;
  std::unique_ptr<upstream::UpstreamPool> pool;

 private:
  std::string config_text(const std::string& policy_yaml) const;
  unsigned upstreams_;
  std::string upstream_yaml_;
  std::string server_yaml_;
  uint64_t generation_ = 1;
};

}  // namespace sinkhole::test
