// SPDX-License-Identifier: MIT
// The sketch document of GET /protected-users/sketches: export → parse round-trips the
// registers exactly in both encodings (sparse for few clients, dense for many), and every
// kind of malformed document is refused with a reason instead of read.
#include "resolver/metrics/sketch_document.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "resolver/metrics/hash_key.h"
#include "resolver/metrics/protected_users.h"
#include "tests/resolver/metrics/ipv4_clients.h"
#include "util/base64.h"

namespace {

using namespace sinkhole::metrics;
using Json = nlohmann::json;

constexpr ProtectedUsers::HashKey kKey{0x1111222233334444ull, 0x5555666677778888ull};
constexpr int64_t kT0 = 472'223 * 3600;

// A node's sketches after `n` distinct IPv4 clients starting at `first`.
HyperLogLog::Registers registers_of(uint32_t first, uint32_t n) {
  ProtectedUsers users(kKey);
  users.ensure_category(0);
  users.rotate(kT0);
  sinkhole::test::record_ipv4_clients(users, 0, first, n, kT0);
  HyperLogLog::Registers regs{};
  users.window_registers(0, kT0, ProtectedUsers::Window::kLastHour, regs);
  return regs;
}

SketchDocument sample(uint32_t clients) {
  SketchDocument d;
  d.node = "edge-1";
  d.key_fingerprint = key_fingerprint(kKey);
  d.key_from_file = true;
  d.generated_unix = kT0;
  CategorySketch c;
  c.category = "gambling";
  c.last_hour.registers = registers_of(0, clients);
  c.last_hour.estimate = HyperLogLog::estimate(c.last_hour.registers);
  c.last_day = c.last_hour;
  d.categories.push_back(c);
  CategorySketch empty;
  empty.category = "malware";
  d.categories.push_back(empty);
  return d;
}

std::string mutate(const std::string& text, void (*f)(Json&)) {
  Json j = Json::parse(text);
  f(j);
  return j.dump();
}

}  // namespace

TEST_CASE("export and parse round-trip the registers, sparse and dense") {
  for (uint32_t clients : {0u, 1u, 100u, 3000u, 50'000u}) {
    CAPTURE(clients);
    const SketchDocument d = sample(clients);
    const std::string text = to_json_text(d);
    const Json j = Json::parse(text);
    CHECK(j["format"] == "sinkholed-protected-users-sketches");
    CHECK(j["version"] == 1);
    CHECK(j["precision"] == 14);
    CHECK(j["key_source"] == "file");
    const auto encoding = j["categories"][0]["windows"]["last_hour"]["encoding"];
    CHECK(encoding == (clients < 4000 ? "sparse" : "dense"));
    const auto parsed = parse_sketch_document(text);
    REQUIRE_MESSAGE(parsed.document, parsed.error);
    const SketchDocument& back = *parsed.document;
    CHECK(back.node == "edge-1");
    CHECK(back.key_fingerprint == d.key_fingerprint);
    CHECK(back.key_from_file);
    CHECK(back.generated_unix == kT0);
    REQUIRE(back.categories.size() == 2);
    CHECK(back.categories[0].category == "gambling");
    CHECK(back.categories[0].last_hour.registers == d.categories[0].last_hour.registers);
    CHECK(back.categories[0].last_day.registers == d.categories[0].last_day.registers);
    CHECK(back.categories[0].last_hour.estimate ==
          doctest::Approx(d.categories[0].last_hour.estimate).epsilon(0.001));
    CHECK(back.categories[1].last_hour.registers == HyperLogLog::Registers{});
  }
}

TEST_CASE("a dense document stays bounded: 16384 registers are 21848 base64 characters") {
  const auto e = encode_registers(registers_of(0, 100'000));
  CHECK(e.encoding == "dense");
  CHECK(e.data.size() == 21848);
  // Few clients: 3 bytes a register set.
  const auto s = encode_registers(registers_of(0, 10));
  CHECK(s.encoding == "sparse");
  CHECK(s.data.size() <= 40);
}

TEST_CASE("malformed documents are refused with a reason") {
  const std::string good = to_json_text(sample(500));
  REQUIRE(parse_sketch_document(good).document);
  struct Case {
    const char* what;
    std::string text;
    const char* says;
  };
  const Case cases[] = {
      {"not JSON", "{\"format\":", "not JSON"},
      {"an array", "[]", "not a JSON object"},
      {"another format", mutate(good, [](Json& j) { j["format"] = "prometheus"; }), "format"},
      {"a newer version", mutate(good, [](Json& j) { j["version"] = 2; }), "version 2"},
      {"another precision", mutate(good, [](Json& j) { j["precision"] = 12; }), "precision 12"},
      {"no node", mutate(good, [](Json& j) { j.erase("node"); }), "\"node\""},
      {"a short fingerprint", mutate(good, [](Json& j) { j["key_fingerprint"] = "abc"; }),
       "key_fingerprint"},
      {"an upper-case fingerprint",
       mutate(good, [](Json& j) { j["key_fingerprint"] = "ABCDEF0123456789"; }), "hex"},
      {"an unknown key source", mutate(good, [](Json& j) { j["key_source"] = "guess"; }),
       "key_source"},
      {"a negative time", mutate(good, [](Json& j) { j["generated_unix"] = -1; }),
       "generated_unix"},
      {"no categories", mutate(good, [](Json& j) { j.erase("categories"); }), "categories"},
      {"a category twice",
       mutate(good, [](Json& j) { j["categories"].push_back(j["categories"][0]); }), "twice"},
      {"a window missing",
       mutate(good, [](Json& j) { j["categories"][0]["windows"].erase("last_day"); }), "last_day"},
      {"a negative estimate",
       mutate(good, [](Json& j) { j["categories"][0]["windows"]["last_hour"]["estimate"] = -3; }),
       "estimate"},
      {"an unknown encoding",
       mutate(good,
              [](Json& j) { j["categories"][0]["windows"]["last_hour"]["encoding"] = "zlib"; }),
       "zlib"},
      {"registers not base64",
       mutate(good,
              [](Json& j) { j["categories"][0]["windows"]["last_hour"]["registers"] = "!!!!"; }),
       "base64"},
      {"dense registers of the wrong size",
       mutate(good,
              [](Json& j) {
                j["categories"][0]["windows"]["last_hour"]["encoding"] = "dense";
                j["categories"][0]["windows"]["last_hour"]["registers"] =
                    sinkhole::util::base64_encode(std::string(100, '\1'));
              }),
       "100 bytes"},
      {"a register above 51",
       mutate(good,
              [](Json& j) {
                j["categories"][0]["windows"]["last_hour"]["encoding"] = "dense";
                j["categories"][0]["windows"]["last_hour"]["registers"] =
                    sinkhole::util::base64_encode(std::string(16384, '4'));  // 52
              }),
       "above 51"},
      {"sparse indexes out of order",
       mutate(good,
              [](Json& j) {
                j["categories"][0]["windows"]["last_hour"]["registers"] =
                    sinkhole::util::base64_encode(std::string("\x00\x05\x01\x00\x04\x01", 6));
              }),
       "ascend"},
      {"a sparse index past the end",
       mutate(good,
              [](Json& j) {
                j["categories"][0]["windows"]["last_hour"]["registers"] =
                    sinkhole::util::base64_encode(std::string("\x40\x00\x01", 3));
              }),
       "ascend"},
      {"a sparse zero value",
       mutate(good,
              [](Json& j) {
                j["categories"][0]["windows"]["last_hour"]["registers"] =
                    sinkhole::util::base64_encode(std::string("\x00\x05\x00", 3));
              }),
       "not 1..51"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const auto r = parse_sketch_document(c.text);
    CHECK_FALSE(r.document);
    CHECK_MESSAGE(r.error.find(c.says) != std::string::npos, r.error);
  }
  CHECK_FALSE(parse_sketch_document(std::string(kMaxSketchDocumentBytes + 1, ' ')).document);
}
