// SPDX-License-Identifier: MIT
// DnstapWriter and WorkerTap end to end: messages written to a file are read back with
// fstrm's reader and protobuf-c and every field is checked; the per-direction switches; a
// message too big for a pooled buffer; no collector, and a collector that stops reading:
// messages are dropped and counted, and the worker never waits.
#include "resolver/dnstap/dnstap_writer.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "dnstap_test_util.h"

namespace {

using sinkhole::dnstap::DnstapWriter;
using sinkhole::dnstap::Peer;
using sinkhole::dnstap::StreamOutput;
using sinkhole::metrics::Counter;
using sinkhole::metrics::WorkerCounters;
using sinkhole::test::bytes_of;
using sinkhole::test::ReadBack;
using sinkhole::test::TempDir;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kSecond = 1'000'000'000;

// A query for www.Example.test A, ID 0x1234, and a matching answer, as wire bytes.
const std::vector<uint8_t> kQuery = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                                     0,  //
                                     3,    'w',  'w',  'w',  7,   'E', 'x', 'a', 'm', 'p', 'l',
                                     'e',  4,    't',  'e',  's', 't', 0,   0,   1,   0,   1};
std::vector<uint8_t> answer_bytes(size_t size) {
  std::vector<uint8_t> a(kQuery);
  a[2] = 0x81;
  a[3] = 0x80;
  while (a.size() < size) a.push_back(static_cast<uint8_t>(a.size()));
  return a;
}

DnstapWriter::Options file_options(const std::string& path) {
  DnstapWriter::Options o;
  o.output = StreamOutput::Kind::kFile;
  o.path = path;
  o.identity = "resolver-1.test";
  o.version = "sinkholed 9.9.9-test";
  o.workers = 2;
  return o;
}

uint64_t counter(const WorkerCounters& c, Counter which) {
  return c.get(which);
}

}  // namespace

TEST_CASE("client queries and responses are written with every field") {
  TempDir dir;
  const std::string path = dir.file("tap.fstrm");
  const sockaddr_in client4 = sinkhole::test::v4("192.0.2.7", 53001);
  const sockaddr_in server4 = sinkhole::test::v4("127.0.0.53", 5353);
  const sockaddr_in6 client6 = sinkhole::test::v6("2001:db8::7", 40000);
  const std::vector<uint8_t> answer = answer_bytes(200);
  const std::vector<uint8_t> big = answer_bytes(10'000);  // over a pooled buffer: malloc'ed
  const uint64_t query_ns = 1'700'000'000 * kSecond + 123'456'789;
  WorkerCounters counters0, counters1;
  uint64_t before_ns = 0, after_ns = 0;
  {
    std::string error;
    auto writer = DnstapWriter::create(file_options(path), &error);
    REQUIRE_MESSAGE(writer, error);
    CHECK(writer->connected());
    auto& tap0 = writer->attach(0, counters0);
    auto& tap1 = writer->attach(1, counters1);
    Peer udp4{reinterpret_cast<const sockaddr*>(&client4),
              reinterpret_cast<const sockaddr*>(&server4), false, query_ns};
    Peer tcp6{reinterpret_cast<const sockaddr*>(&client6), nullptr, true, query_ns + 5};
    before_ns = sinkhole::dnstap::wall_clock_ns();
    tap0.client_query(udp4, kQuery.data(), kQuery.size());
    tap0.client_response(udp4, answer.data(), answer.size());
    tap1.client_response(tcp6, big.data(), big.size());
    after_ns = sinkhole::dnstap::wall_clock_ns();
  }  // destroying the writer writes everything and closes the file
  CHECK(counter(counters0, Counter::kDnstapMessages) == 2);
  CHECK(counter(counters1, Counter::kDnstapMessages) == 1);
  for (const auto* c : {&counters0, &counters1}) {
    CHECK(counter(*c, Counter::kDnstapDropped) == 0);
    CHECK(counter(*c, Counter::kDnstapLost) == 0);
  }

  ReadBack rb;
  sinkhole::test::read_dnstap_file(path, rb);
  REQUIRE(rb.opened);
  CHECK(rb.content_type == "protobuf:dnstap.Dnstap");
  REQUIRE(rb.frames.size() == 3);
  for (const auto* f : rb.frames) {
    REQUIRE(f != nullptr);
    CHECK(f->type == DNSTAP__DNSTAP__TYPE__MESSAGE);
    REQUIRE(f->has_identity);
    CHECK(bytes_of(f->identity) == "resolver-1.test");
    REQUIRE(f->has_version);
    CHECK(bytes_of(f->version) == "sinkholed 9.9.9-test");
    REQUIRE(f->message != nullptr);
  }

  // The I/O thread takes the queues in turn: order holds within a worker's queue only.
  const Dnstap__Message *q = nullptr, *r = nullptr, *t = nullptr;
  for (const auto* f : rb.frames) {
    const Dnstap__Message* m = f->message;
    if (m->type == DNSTAP__MESSAGE__TYPE__CLIENT_QUERY)
      q = m;
    else if (m->socket_protocol == DNSTAP__SOCKET_PROTOCOL__UDP)
      r = m;
    else
      t = m;
    if (m == r) CHECK(q != nullptr);  // worker 0 queued its query first
  }
  REQUIRE((q && r && t));

  // 1: CLIENT_QUERY over UDP/IPv4, both addresses known.
  CHECK(q->type == DNSTAP__MESSAGE__TYPE__CLIENT_QUERY);
  CHECK((q->has_socket_family && q->socket_family == DNSTAP__SOCKET_FAMILY__INET));
  CHECK((q->has_socket_protocol && q->socket_protocol == DNSTAP__SOCKET_PROTOCOL__UDP));
  REQUIRE(q->has_query_address);
  CHECK(bytes_of(q->query_address) == std::string("\xc0\x00\x02\x07", 4));
  CHECK((q->has_query_port && q->query_port == 53001));
  REQUIRE(q->has_response_address);
  CHECK(bytes_of(q->response_address) == std::string("\x7f\x00\x00\x35", 4));
  CHECK((q->has_response_port && q->response_port == 5353));
  CHECK((q->has_query_time_sec && q->query_time_sec == 1'700'000'000));
  CHECK((q->has_query_time_nsec && q->query_time_nsec == 123'456'789));
  REQUIRE(q->has_query_message);
  CHECK(bytes_of(q->query_message) == std::string(kQuery.begin(), kQuery.end()));
  CHECK_FALSE(q->has_response_message);
  CHECK_FALSE(q->has_response_time_sec);

  // 2: CLIENT_RESPONSE of the same exchange: the query's time, and now as response time.
  CHECK(r->type == DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
  CHECK(r->socket_protocol == DNSTAP__SOCKET_PROTOCOL__UDP);
  CHECK(bytes_of(r->query_address) == std::string("\xc0\x00\x02\x07", 4));
  CHECK(r->query_port == 53001);
  CHECK(bytes_of(r->response_address) == std::string("\x7f\x00\x00\x35", 4));
  CHECK(r->response_port == 5353);
  CHECK(r->query_time_sec == 1'700'000'000);
  CHECK(r->query_time_nsec == 123'456'789);
  REQUIRE((r->has_response_time_sec && r->has_response_time_nsec));
  const uint64_t response_ns = r->response_time_sec * kSecond + r->response_time_nsec;
  CHECK(response_ns >= before_ns);
  CHECK(response_ns <= after_ns);
  CHECK_FALSE(r->has_query_message);
  REQUIRE(r->has_response_message);
  CHECK(bytes_of(r->response_message) == std::string(answer.begin(), answer.end()));

  // 3: CLIENT_RESPONSE over TCP/IPv6 from the other worker; our address unknown: left out.
  CHECK(t->type == DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
  CHECK(t->socket_family == DNSTAP__SOCKET_FAMILY__INET6);
  CHECK(t->socket_protocol == DNSTAP__SOCKET_PROTOCOL__TCP);
  CHECK(bytes_of(t->query_address) ==
        std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07", 16));
  CHECK(t->query_port == 40000);
  CHECK_FALSE(t->has_response_address);
  CHECK_FALSE(t->has_response_port);
  CHECK(t->query_time_nsec == 123'456'794);
  CHECK(bytes_of(t->response_message) == std::string(big.begin(), big.end()));
}

TEST_CASE("client_queries and client_responses switch each direction off") {
  for (const bool queries : {true, false}) {
    TempDir dir;
    const std::string path = dir.file("tap.fstrm");
    const sockaddr_in client = sinkhole::test::v4("198.51.100.1", 1024);
    const std::vector<uint8_t> answer = answer_bytes(64);
    WorkerCounters counters;
    {
      auto o = file_options(path);
      o.workers = 1;
      o.client_queries = queries;
      o.client_responses = !queries;
      std::string error;
      auto writer = DnstapWriter::create(o, &error);
      REQUIRE_MESSAGE(writer, error);
      auto& tap = writer->attach(0, counters);
      Peer p{reinterpret_cast<const sockaddr*>(&client), nullptr, false, 1};
      tap.client_query(p, kQuery.data(), kQuery.size());
      tap.client_response(p, answer.data(), answer.size());
    }
    CHECK(counter(counters, Counter::kDnstapMessages) == 1);
    CHECK(counter(counters, Counter::kDnstapDropped) == 0);
    ReadBack rb;
    sinkhole::test::read_dnstap_file(path, rb);
    REQUIRE(rb.frames.size() == 1);
    CHECK(rb.frames[0]->message->type ==
          (queries ? DNSTAP__MESSAGE__TYPE__CLIENT_QUERY : DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE));
  }
}

TEST_CASE("without a collector every message is dropped and counted, at once") {
  TempDir dir;
  const sockaddr_in client = sinkhole::test::v4("192.0.2.1", 1000);
  WorkerCounters counters;
  DnstapWriter::Options o;
  o.path = dir.file("nobody-listens.sock");
  std::string error;
  const auto t0 = Clock::now();
  auto writer = DnstapWriter::create(o, &error);
  REQUIRE_MESSAGE(writer, error);  // a collector may come later: not an error
  // create() waits for the first attempt, which fails at once here.
  CHECK(Clock::now() - t0 < std::chrono::milliseconds(500));
  CHECK_FALSE(writer->connected());
  CHECK(writer->output().failures() >= 1);
  auto& tap = writer->attach(0, counters);
  Peer p{reinterpret_cast<const sockaddr*>(&client), nullptr, false, 1};
  for (int i = 0; i < 1000; ++i) {
    tap.client_query(p, kQuery.data(), kQuery.size());
    tap.client_response(p, kQuery.data(), kQuery.size());
  }
  CHECK(counter(counters, Counter::kDnstapDropped) == 2000);
  CHECK(counter(counters, Counter::kDnstapMessages) == 0);
  writer.reset();
  CHECK(counter(counters, Counter::kDnstapLost) == 0);
}

TEST_CASE("a collector that stops reading: the queue fills, the rest is dropped, no wait") {
  TempDir dir;
  const std::string sock = dir.file("stalled.sock");
  sinkhole::test::StalledCollector collector(sock);
  const sockaddr_in client = sinkhole::test::v4("192.0.2.1", 1000);
  const std::vector<uint8_t> answer = answer_bytes(400);
  WorkerCounters counters;
  DnstapWriter::Options o;
  o.path = sock;
  o.queue_size = 64;
  std::string error;
  auto writer = DnstapWriter::create(o, &error);
  REQUIRE_MESSAGE(writer, error);
  REQUIRE(collector.wait_handshake());
  for (int i = 0; i < 1000 && !writer->connected(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(writer->connected());
  auto& tap = writer->attach(0, counters);

  // The collector reads nothing more: the socket buffer fills (a few hundred frames), the
  // I/O thread blocks in its write (for StreamOutput::kIoTimeout), the queue fills.
  constexpr int kMessages = 20'000;
  Peer p{reinterpret_cast<const sockaddr*>(&client), nullptr, false, 1};
  Clock::duration slowest{};
  const auto start = Clock::now();
  for (int i = 0; i < kMessages; ++i) {
    const auto t = Clock::now();
    tap.client_response(p, answer.data(), answer.size());
    slowest = std::max(slowest, Clock::now() - t);
  }
  const auto total = Clock::now() - start;
  const uint64_t queued = counter(counters, Counter::kDnstapMessages);
  const uint64_t dropped = counter(counters, Counter::kDnstapDropped);
  CHECK(queued + dropped == kMessages);
  CHECK(dropped > 0);
  CHECK(queued < kMessages);
  // Never waits for the I/O thread: far below the 2 s it may stay blocked in a write.
  CHECK(slowest < std::chrono::milliseconds(100));
  CHECK(total < std::chrono::milliseconds(1500));

  // The collector goes away: the blocked write fails, the frames still queued are lost.
  collector.stop();
  writer.reset();
  const uint64_t lost = counter(counters, Counter::kDnstapLost);
  CHECK(lost > 0);
  CHECK(lost <= queued);
}

TEST_CASE("an unusable output is an error at create") {
  TempDir dir;
  std::string error;
  DnstapWriter::Options o;
  o.output = StreamOutput::Kind::kFile;
  o.path = dir.file("no/such/dir/tap.fstrm");
  CHECK_FALSE(DnstapWriter::create(o, &error));
  CHECK(error.find(o.path) != std::string::npos);

  o.output = StreamOutput::Kind::kUnixSocket;
  o.path = "/" + std::string(200, 'x');
  error.clear();
  CHECK_FALSE(DnstapWriter::create(o, &error));
  CHECK(error.find("socket path") != std::string::npos);

  o.path = dir.file("x.sock");
  o.queue_size = 100;  // not a power of two
  error.clear();
  CHECK_FALSE(DnstapWriter::create(o, &error));
  CHECK_FALSE(error.empty());
}
