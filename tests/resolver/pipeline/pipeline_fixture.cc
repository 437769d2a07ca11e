// SPDX-License-Identifier: MIT
#include "pipeline_fixture.h"

#include "resolver/dns/name.h"

namespace sinkhole::test {

Answer read_answer(const std::vector<uint8_t>& bytes) {
  Answer out;
  const dns::MessageView m = dns::parse_message(bytes.data(), bytes.size());
  REQUIRE_MESSAGE(m.ok, "the reply does not parse");
  out.id = m.id;
  out.flags = m.flags;
  out.rcode = m.rcode();
  size_t pos = m.question_end;
  const size_t total = size_t{m.ancount} + m.nscount + m.arcount;
  for (size_t i = 0; i < total; ++i) {
    const dns::RecordSpan r = dns::skip_record(bytes.data(), m.end, pos);
    REQUIRE(r.end != 0);
    uint8_t owner[dns::kMaxNameWire];
    const dns::NameWalk w = dns::walk_name(bytes.data(), m.end, r.name_off, true, owner, true);
    Answer::Record rec{
        r.type, r.ttl,
        std::vector<uint8_t>(bytes.begin() + static_cast<long>(r.rdata_off),
                             bytes.begin() + static_cast<long>(r.rdata_off + r.rdlen)),
        dns::wire_to_text(owner, w.wire_len)};
    if (r.type == dns::rrtype::kCname) {  // expand the target (it may be compressed)
      uint8_t target[dns::kMaxNameWire];
      const dns::NameWalk t = dns::walk_name(bytes.data(), m.end, r.rdata_off, true, target, true);
      rec.rdata.assign(target, target + t.wire_len);
    }
    if (i < m.ancount)
      out.answers.push_back(std::move(rec));
    else if (i < size_t{m.ancount} + m.nscount)
      out.authority.push_back(std::move(rec));
    else if (r.type == dns::rrtype::kOpt) {
      size_t o = r.rdata_off;
      while (o + 4 <= r.rdata_off + r.rdlen) {
        const uint16_t code = dns::read_u16(bytes.data() + o);
        const uint16_t len = dns::read_u16(bytes.data() + o + 2);
        if (code == 15 && len >= 2) {
          out.ede = dns::read_u16(bytes.data() + o + 4);
          out.ede_text.assign(reinterpret_cast<const char*>(bytes.data() + o + 6), len - 2);
        }
        o += 4 + len;
      }
    }
    pos = r.end;
  }
  return out;
}

PipelineFixture::PipelineFixture(const std::string& policy_yaml,
                                 const std::vector<std::pair<std::string, std::string>>& lists,
                                 unsigned upstreams, bool with_cache,
                                 const std::string& upstream_yaml, std::string server_yaml)
    : upstreams_(upstreams), upstream_yaml_(upstream_yaml), server_yaml_(std::move(server_yaml)) {
  for (const auto& [name, text] : lists) dir.write(name, text);
  const std::string yaml = config_text(policy_yaml);
  const std::string path = dir.write("sinkholed.yaml", yaml);
  auto loaded = config::parse_config(yaml, path);
  REQUIRE_MESSAGE(loaded.config, "config rejected");
  cfg = std::make_unique<config::Config>(*loaded.config);
  auto built = policy::build_snapshot(yaml, path, generation_);
  REQUIRE_MESSAGE(built.snapshot, (built.errors.empty() ? "" : built.errors.front()));
  holder.publish(built.snapshot);
  if (with_cache) {
    cache::CacheOptions co;
    co.max_bytes = size_t{8} << 20;
    co.stale_ms = 86'400'000;
    cache = std::make_unique<cache::PacketCache>(co);
  }
  pipe =
      std::make_unique<pipeline::QueryPipeline>(*cfg, counters, holder, cache.get(), sink, clock);
  upstream::UpstreamPool::Options po;
  po.servers = cfg->upstream.servers;
  po.timeout = cfg->upstream.timeout;
  po.deadline = cfg->upstream.deadline;
  po.payload = cfg->server.udp_payload;
  po.max_inflight_per_upstream = cfg->upstream.max_inflight_per_upstream;
  pool = std::make_unique<upstream::UpstreamPool>(po, transport, clock, counters, *pipe);
  pipe->set_upstreams(pool.get());
}

PipelineFixture::~PipelineFixture() = default;

std::string PipelineFixture::config_text(const std::string& policy_yaml) const {
  std::string y = "server:\n  listen: [\"127.0.0.1:53\"]\n  udp_payload: 1232\n" + server_yaml_ +
                  "upstreams:\n";
  for (unsigned i = 0; i < upstreams_; ++i)
    y += "  - \"127.0.0." + std::to_string(31 + i) + ":53\"\n";
  y += "upstream:\n  timeout: 1500ms\n  deadline: 2s\n" + upstream_yaml_;
  return y + policy_yaml;
}

void PipelineFixture::reload(const std::string& policy_yaml) {
  const std::string yaml = config_text(policy_yaml);
  const std::string path = dir.write("sinkholed.yaml", yaml);
  auto built = policy::build_snapshot(yaml, path, ++generation_);
  REQUIRE_MESSAGE(built.snapshot, (built.errors.empty() ? "" : built.errors.front()));
  holder.publish(built.snapshot);
}

const config::Config& PipelineFixture::apply_settings(const std::string& server_yaml,
                                                      const std::string& upstream_yaml,
                                                      const std::string& more_yaml) {
  server_yaml_ = server_yaml;
  upstream_yaml_ = upstream_yaml;
  const std::string yaml = config_text(more_yaml);
  auto loaded = config::parse_config(yaml, dir.path("sinkholed.yaml"));
  REQUIRE_MESSAGE(loaded.config, (loaded.errors.empty() ? "" : loaded.errors.front()));
  applied.push_back(std::make_unique<config::Config>(*loaded.config));
  pipe->apply_settings(*applied.back());
  return *applied.back();
}

net::ClientEndpoint PipelineFixture::endpoint(const std::string& client, bool tcp) const {
  net::ClientEndpoint from;
  from.transport =
      tcp ? net::ClientEndpoint::Transport::kTcp : net::ClientEndpoint::Transport::kUdp;
  if (client.find(':') != std::string::npos) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(40000);
    REQUIRE(inet_pton(AF_INET6, client.c_str(), &a.sin6_addr) == 1);
    from.set_addr(reinterpret_cast<const sockaddr*>(&a));
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(40000);
    REQUIRE(inet_pton(AF_INET, client.c_str(), &a.sin_addr) == 1);
    from.set_addr(reinterpret_cast<const sockaddr*>(&a));
  }
  return from;
}

void PipelineFixture::query(const std::vector<uint8_t>& bytes, const std::string& client,
                            bool tcp) {
  const net::ClientEndpoint from = endpoint(client, tcp);
  pipe->on_query(bytes.data(), bytes.size(), from);
}

std::string PipelineFixture::last_question() const {
  REQUIRE_MESSAGE(!sink.sent.empty(), "no reply was sent");
  const std::vector<uint8_t>& b = sink.sent.back().bytes;
  if (b.size() < dns::kHeaderSize || dns::read_u16(b.data() + dns::kOffQdCount) != 1) return "";
  const dns::NameWalk w = dns::walk_name(b.data(), b.size(), dns::kHeaderSize, false);
  if (w.error != dns::NameError::kNone) return "";
  return dns::wire_to_text(b.data() + dns::kHeaderSize, w.wire_len);
}

Answer PipelineFixture::last() const {
  REQUIRE_MESSAGE(!sink.sent.empty(), "no reply was sent");
  return read_answer(sink.sent.back().bytes);
}

}  // namespace sinkhole::test
