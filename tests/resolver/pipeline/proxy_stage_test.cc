// SPDX-License-Identifier: MIT
// The PROXY v2 stage in the pipeline (pipeline_fixture.h): a trusted proxy's header makes
// its client the one judged (client group, ACL, counters) while the reply goes back to the
// proxy; a trusted datagram without a header, a broken header, or a header from anyone
// else is dropped and counted; LOCAL is the proxy itself; TCP endpoints are never read
// for a header here (the listener did); a reload turns trust off and on.
#include <doctest/doctest.h>

#include "pipeline_fixture.h"
#include "resolver/net/proxy_header.h"
#include "resolver/pipeline/proxy_stage.h"
#include "tests/resolver/net/proxy_v2_bytes.h"

namespace {

using sinkhole::metrics::Counter;
using sinkhole::net::ClientEndpoint;
using sinkhole::test::a_record;
using sinkhole::test::answer_to;
using sinkhole::test::make_query;
using sinkhole::test::PipelineFixture;
using sinkhole::test::QueryOptions;

constexpr uint16_t kA = 1, kNxDomain = 3, kRefused = 5;

// north blocks gambling, south does not; the proxies (for their LOCAL health checks) are
// a group of their own that blocks nothing.
const char* kPolicy = R"yaml(
lists:
  gambling: { path: gambling.txt, format: domains, category: gambling }
policies:
  - name: north
    clients: [10.2.0.0/16, "2001:db8:2::/48"]
    block: [{ list: gambling, action: nxdomain }]
  - name: south
    clients: [10.3.0.0/16]
  - name: proxies
    clients: [127.0.0.0/8]
)yaml";
const std::vector<std::pair<std::string, std::string>> kFiles = {
    {"gambling.txt", "casino.example\n"}};
const char* kServer =
    "  allow_query: [10.2.0.0/16, 10.3.0.0/16, \"2001:db8:2::/48\", 127.0.0.0/8]\n"
    "  proxy_protocol_from: [127.0.0.2/32, \"::1/128\"]\n";

// A PROXY v2 header for `client` (IPv4 or IPv6, port 5353) before `msg`.
std::vector<uint8_t> via_proxy(const std::vector<uint8_t>& msg, const std::string& client,
                               uint8_t ver_cmd = 0x21) {
  const bool v6 = client.find(':') != std::string::npos;
  std::vector<uint8_t> h = sinkhole::test::proxy_v2(
      ver_cmd, v6 ? 0x22 : 0x12,
      v6 ? sinkhole::test::inet6_addresses(client.c_str(), 5353, "::1", 53)
         : sinkhole::test::inet_addresses(client.c_str(), 5353, "127.0.0.1", 53));
  h.insert(h.end(), msg.begin(), msg.end());
  return h;
}

std::vector<uint8_t> local_header(const std::vector<uint8_t>& msg) {
  std::vector<uint8_t> h = sinkhole::test::proxy_v2(0x20, 0x00, {});
  h.insert(h.end(), msg.begin(), msg.end());
  return h;
}

// "address port" of a sockaddr.
std::string text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(sa);
    return std::string(inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf)) + " " +
           std::to_string(ntohs(s->sin_port));
  }
  const auto* s = reinterpret_cast<const sockaddr_in6*>(sa);
  return std::string(inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf)) + " " +
         std::to_string(ntohs(s->sin6_port));
}

void send(PipelineFixture& f, const std::vector<uint8_t>& bytes, const std::string& peer,
          bool tcp = false) {
  const ClientEndpoint from = f.endpoint(peer, tcp);
  f.pipe->on_query(bytes.data(), bytes.size(), from);
}

}  // namespace

TEST_CASE("proxy: a trusted proxy's header names the client; the reply goes to the proxy") {
  PipelineFixture f(kPolicy, kFiles, 2, true, "", kServer);
  // north: blocked, answered at once, to the proxy.
  send(f, via_proxy(make_query("casino.example.", kA, {.id = 0x0101}), "10.2.0.5"), "127.0.0.2");
  REQUIRE(f.replies() == 1);
  CHECK(f.last().id == 0x0101);
  CHECK(f.last().rcode == kNxDomain);
  CHECK(text(f.sink.sent.back().to.peer_sa()) == "127.0.0.2 40000");
  CHECK(text(f.sink.sent.back().to.sa()) == "10.2.0.5 5353");
  CHECK(f.counter(Counter::kBlocked) == 1);
  // south: the same name is forwarded; the upstream's answer also goes to the proxy.
  send(f, via_proxy(make_query("casino.example.", kA, {.id = 0x0202}), "10.3.0.5"), "127.0.0.2");
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {192, 0, 2, 1})}));
  REQUIRE(f.replies() == 2);
  CHECK(f.last().id == 0x0202);
  CHECK(f.last().rcode == 0);
  CHECK(text(f.sink.sent.back().to.peer_sa()) == "127.0.0.2 40000");
  CHECK(text(f.sink.sent.back().to.sa()) == "10.3.0.5 5353");
  // An IPv6 client through an IPv6 proxy.
  send(f, via_proxy(make_query("casino.example.", kA, {.id = 0x0303}), "2001:db8:2::7"), "::1");
  REQUIRE(f.replies() == 3);
  CHECK(f.last().rcode == kNxDomain);
  CHECK(text(f.sink.sent.back().to.peer_sa()) == "::1 40000");
  CHECK(text(f.sink.sent.back().to.sa()) == "2001:db8:2::7 5353");
  // An IPv6 client through an IPv4 proxy (the header's family is the client's).
  send(f, via_proxy(make_query("casino.example.", kA, {.id = 0x0404}), "2001:db8:2::8"),
       "127.0.0.2");
  REQUIRE(f.replies() == 4);
  CHECK(f.last().rcode == kNxDomain);
  CHECK(text(f.sink.sent.back().to.peer_sa()) == "127.0.0.2 40000");
  CHECK(f.counter(Counter::kQueriesProxied) == 4);
  CHECK(f.counter(Counter::kQueriesUdp) == 4);
}

TEST_CASE("proxy: the ACL judges the header's client, not the proxy") {
  PipelineFixture f(kPolicy, kFiles, 2, true, "", kServer);
  send(f, via_proxy(make_query("www.example.", kA, {.id = 0x0505}), "192.0.2.77"), "127.0.0.2");
  REQUIRE(f.replies() == 1);
  CHECK(f.last().rcode == kRefused);
  CHECK(f.last().ede == 18);
  CHECK(text(f.sink.sent.back().to.peer_sa()) == "127.0.0.2 40000");
  CHECK(f.counter(Counter::kRefusedAcl) == 1);
  CHECK(f.transport.attempts.empty());
}

TEST_CASE("proxy: LOCAL (a health check) is served as the proxy itself") {
  PipelineFixture f(kPolicy, kFiles, 2, true, "", kServer);
  send(f, local_header(make_query("casino.example.", kA)), "127.0.0.2");
  // The proxies' group blocks nothing: forwarded, answered to the proxy.
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {192, 0, 2, 1})}));
  REQUIRE(f.replies() == 1);
  CHECK(f.last().rcode == 0);
  CHECK(text(f.sink.sent.back().to.sa()) == "127.0.0.2 40000");
  CHECK(f.counter(Counter::kQueriesProxied) == 1);
}

TEST_CASE("proxy: missing, malformed and untrusted headers are dropped and counted") {
  PipelineFixture f(kPolicy, kFiles, 2, true, "", kServer);
  const auto q = make_query("casino.example.", kA);
  // Trusted, no header: dropped (it would be judged as the proxy's own query).
  send(f, q, "127.0.0.2");
  CHECK(f.counter(Counter::kProxyHeaderMissing) == 1);
  // Trusted, broken headers: truncated, version 1, command 2, a huge length.
  auto good = via_proxy(q, "10.2.0.5");
  send(f, std::vector<uint8_t>(good.begin(), good.begin() + 20), "127.0.0.2");
  auto v1 = good;
  v1[12] = 0x11;
  send(f, v1, "127.0.0.2");
  auto cmd2 = good;
  cmd2[12] = 0x22;
  send(f, cmd2, "127.0.0.2");
  auto huge = good;
  huge[14] = 0xFF;
  send(f, huge, "127.0.0.2");
  CHECK(f.counter(Counter::kProxyHeaderMalformed) == 4);
  // A header from a source not trusted (a client that would choose its own address).
  send(f, good, "10.2.0.9");
  send(f, good, "127.0.0.3");
  CHECK(f.counter(Counter::kProxyHeaderUntrusted) == 2);
  CHECK(f.replies() == 0);
  CHECK(f.transport.attempts.empty());
  CHECK(f.counter(Counter::kQueriesUdp) == 0);
  CHECK(f.counter(Counter::kQueriesProxied) == 0);
  // An untrusted client whose query ID begins with the signature's first byte is served.
  send(f, make_query("casino.example.", kA, {.id = 0x0D0A}), "10.2.0.9");
  REQUIRE(f.replies() == 1);
  CHECK(f.last().rcode == kNxDomain);
  CHECK(f.last().id == 0x0D0A);
}

TEST_CASE("proxy: a TCP endpoint is never read for a header (the listener did)") {
  PipelineFixture f(kPolicy, kFiles, 2, true, "", kServer);
  ClientEndpoint from = f.endpoint("127.0.0.2", /*tcp=*/true);
  sockaddr_in client{};
  client.sin_family = AF_INET;
  client.sin_port = htons(999);
  inet_pton(AF_INET, "10.2.0.5", &client.sin_addr);
  from.set_client(reinterpret_cast<const sockaddr*>(&client));
  const auto q = make_query("casino.example.", kA);
  f.pipe->on_query(q.data(), q.size(), from);
  REQUIRE(f.replies() == 1);
  CHECK(f.last().rcode == kNxDomain);  // north's policy: the client, not the proxy
  CHECK(f.counter(Counter::kProxyHeaderMissing) == 0);
  CHECK(f.counter(Counter::kQueriesTcp) == 1);
}

TEST_CASE("proxy: a reload turns the trust off and on") {
  PipelineFixture f(kPolicy, kFiles, 2, true, "", kServer);
  const auto q = make_query("casino.example.", kA);
  f.apply_settings("  allow_query: [10.0.0.0/8, 127.0.0.0/8]\n");
  send(f, via_proxy(q, "10.2.0.5"), "127.0.0.2");
  CHECK(f.counter(Counter::kProxyHeaderUntrusted) == 1);
  CHECK(f.replies() == 0);
  CHECK_FALSE(f.pipe->client_filter().trusts_proxy(f.endpoint("127.0.0.2").sa()));
  f.apply_settings(
      "  allow_query: [10.0.0.0/8, 127.0.0.0/8]\n"
      "  proxy_protocol_from: [127.0.0.0/30]\n");
  CHECK(f.pipe->client_filter().trusts_proxy(f.endpoint("127.0.0.2").sa()));
  CHECK_FALSE(f.pipe->client_filter().trusts_proxy(f.endpoint("127.0.0.4").sa()));
  send(f, via_proxy(q, "10.2.0.5"), "127.0.0.2");
  REQUIRE(f.replies() == 1);
  CHECK(f.last().rcode == kNxDomain);
  CHECK(f.counter(Counter::kQueriesProxied) == 1);
}

TEST_CASE("proxy: LOCAL marks the endpoint as the proxy's own query (not a subscriber)") {
  const auto q = make_query("casino.example.", kA);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(40000);
  REQUIRE(inet_pton(AF_INET, "127.0.0.2", &peer.sin_addr) == 1);
  const std::vector<uint8_t> grams[2] = {via_proxy(q, "10.2.0.5"), local_header(q)};
  for (const bool local : {true, false}) {
    const auto& dgram = grams[local ? 1 : 0];
    sinkhole::net::ClientEndpoint from;
    from.set_addr(reinterpret_cast<const sockaddr*>(&peer));
    const uint8_t* msg = dgram.data();
    size_t len = dgram.size();
    REQUIRE(sinkhole::pipeline::strip_proxy_header(true, msg, len, from) ==
            sinkhole::pipeline::ProxyOutcome::kProxied);
    CHECK(len == q.size());
    // Protected-user counting skips it (BlockCounter::count), the rest serves it as usual.
    CHECK(from.proxy_local == local);
    CHECK(text(from.sa()) == (local ? "127.0.0.2 40000" : "10.2.0.5 5353"));
  }
}
