// SPDX-License-Identifier: MIT
// walk_name over compressed names in a response (expanded into an out buffer, lower-cased
// or not), each NameError class, wire_names_equal_ci, lower_name and the text <-> wire helpers.
#include "resolver/dns/name.h"
#include "resolver/dns/question_key.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "test_packet.h"

namespace {

using sinkhole::dns::lower_name;
using sinkhole::dns::NameError;
using sinkhole::dns::walk_name;
using sinkhole::dns::wire_names_equal_ci;
using sinkhole::test::PacketWriter;
using sinkhole::test::wire_name;

std::string as_string(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}
std::string as_string(const std::vector<uint8_t>& v) {
  return as_string(v.data(), v.size());
}

// Offsets: question name at 12 ("www" 12, "Example" 16, "COM" 24, root 28), qtype/qclass
// 29..32; answer 1 owner C0 0C at 33, CNAME rdata "CdN" + C0 10 at 45..50; answer 2 owner
// "US" + C0 2D at 51..55, A rdata at 66..69.
PacketWriter response() {
  PacketWriter p;
  p.header(0x1234, 0x8180, 1, 2, 0, 0).question("www.Example.COM.", 1);
  p.pointer(12).rr_tail(5, 1, 300, {3, 'C', 'd', 'N', 0xC0, 16});
  p.raw({2, 'U', 'S'}).pointer(45).rr_tail(1, 1, 60, {192, 0, 2, 1});
  return p;
}

}  // namespace

TEST_CASE("walk_name expands compressed names of a response") {
  const PacketWriter p = response();
  REQUIRE(p.size() == 70);
  auto msg = sinkhole::test::exact_copy(p.data(), p.size());
  struct Case {
    std::string name;
    size_t off;
    bool lower;
    std::string want;
    size_t end;
    bool compressed;
  } cases[] = {
      {"question, case kept", 12, false, as_string(wire_name("www.Example.COM.")), 29, false},
      {"question, lower-cased", 12, true, as_string(wire_name("www.example.com.")), 29, false},
      {"owner pointer to the question", 33, false, as_string(wire_name("www.Example.COM.")), 35,
       true},
      {"CNAME target: label + pointer into the question", 45, true,
       as_string(wire_name("cdn.example.com.")), 51, true},
      {"CNAME target, case kept", 45, false, as_string(wire_name("CdN.Example.COM.")), 51, true},
      {"two hops: label + pointer to label + pointer", 51, true,
       as_string(wire_name("us.cdn.example.com.")), 56, true},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto out = std::make_unique<uint8_t[]>(sinkhole::dns::kMaxNameWire);
    const auto w = walk_name(msg.get(), p.size(), c.off, true, out.get(), c.lower);
    REQUIRE(w.error == NameError::kNone);
    CHECK(w.wire_len == c.want.size());
    CHECK(as_string(out.get(), w.wire_len) == c.want);
    CHECK(w.end == c.end);
    CHECK(w.compressed == c.compressed);
    // Without an out buffer the walk gives the same result.
    const auto bare = walk_name(msg.get(), p.size(), c.off, true);
    CHECK(bare.wire_len == w.wire_len);
    CHECK(bare.end == w.end);
  }
}

TEST_CASE("walk_name refuses pointers when they are not allowed") {
  const PacketWriter p = response();
  CHECK(walk_name(p.data(), p.size(), 33, false).error == NameError::kForwardPointer);
  CHECK(walk_name(p.data(), p.size(), 12, false).error == NameError::kNone);
}

TEST_CASE("walk_name reports each malformed name class") {
  struct Case {
    std::string name;
    std::vector<uint8_t> bytes;  // placed at offset 12, after a zeroed header
    NameError want;
  } cases[] = {
      {"nothing at the offset", {}, NameError::kPastEnd},
      {"label past end", {3, 'a', 'b'}, NameError::kPastEnd},
      {"no root label", {1, 'a'}, NameError::kPastEnd},
      {"pointer cut in half", {1, 'a', 0xC0}, NameError::kPastEnd},
      {"label type 0x40", {0x40, 0}, NameError::kBadLabelType},
      {"label type 0x80 after a label", {1, 'A', 0x85, 0}, NameError::kBadLabelType},
      {"pointer to itself", {0xC0, 12}, NameError::kPointerLoop},
      {"pointer to the start of its own name", {1, 'a', 0xC0, 12}, NameError::kPointerLoop},
      {"pointer into the header", {0xC0, 2}, NameError::kForwardPointer},
      {"pointer forward", {0xC0, 14, 0}, NameError::kForwardPointer},
      {"pointer past end", {0xC0, 40}, NameError::kPointerPastEnd},
      {"pointer to one past the end", {0xC0, 14}, NameError::kPointerPastEnd},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    std::vector<uint8_t> buf(12, 0);
    buf.insert(buf.end(), c.bytes.begin(), c.bytes.end());
    auto msg = sinkhole::test::exact_copy(buf.data(), buf.size());
    CHECK(walk_name(msg.get(), buf.size(), 12, true).error == c.want);
  }
}

TEST_CASE("walk_name accepts 255 octets and rejects 256 without writing past the out buffer") {
  for (const size_t total : {size_t{255}, size_t{256}}) {
    CAPTURE(total);
    // Labels of 63, 63, 63 and (total - 193 - 1), then the root.
    std::vector<uint8_t> buf(12, 0);
    size_t left = total - 1;
    while (left > 0) {
      const size_t label = std::min<size_t>(63, left - 1);
      buf.push_back(static_cast<uint8_t>(label));
      buf.insert(buf.end(), label, 'Q');
      left -= label + 1;
    }
    buf.push_back(0);
    auto msg = sinkhole::test::exact_copy(buf.data(), buf.size());
    auto out = sinkhole::test::exact_copy(buf.data(), sinkhole::dns::kMaxNameWire);  // 255 bytes
    const auto w = walk_name(msg.get(), buf.size(), 12, true, out.get(), true);
    if (total == 255) {
      CHECK(w.error == NameError::kNone);
      CHECK(w.wire_len == 255);
      CHECK(out[1] == 'q');
      CHECK(out[254] == 0);
    } else {
      CHECK(w.error == NameError::kTooLong);
    }
  }
}

TEST_CASE("wire_names_equal_ci folds ASCII letters only") {
  struct Case {
    std::string a, b;
    bool equal;
  } cases[] = {
      {"www.example.com.", "WWW.EXAMPLE.COM.", true},
      {"wWw.ExAmPlE.cOm.", "WwW.eXaMpLe.CoM.", true},
      {"www.example.com.", "www.example.net.", false},
      {"a-b.example.", "a-b.EXAMPLE.", true},
      {"[.example.", "{.example.", false},  // 0x5B / 0x7B differ by 0x20 but are not letters
      {"@.example.", "`.example.", false},
      {"ab.cd.", "abc.d.", false},  // same letters, different label boundaries
  };
  for (const auto& c : cases) {
    INFO(c.a << " vs " << c.b);
    const auto a = wire_name(c.a), b = wire_name(c.b);
    REQUIRE(a.size() == b.size());
    CHECK(wire_names_equal_ci(a.data(), b.data(), a.size()) == c.equal);
    CHECK(wire_names_equal_ci(b.data(), a.data(), a.size()) == c.equal);
  }
}

TEST_CASE("lower_name writes the lower-cased wire name; two spellings give one key") {
  const auto mixed = wire_name("wWw.ExAmPlE.CoM.");
  const auto upper = wire_name("WWW.EXAMPLE.COM.");
  uint8_t a[sinkhole::dns::kMaxNameWire];
  uint8_t b[sinkhole::dns::kMaxNameWire];
  lower_name(mixed.data(), mixed.size(), a);
  lower_name(upper.data(), upper.size(), b);
  CHECK(as_string(a, mixed.size()) == as_string(wire_name("www.example.com.")));
  CHECK(as_string(a, mixed.size()) == as_string(b, upper.size()));
  // Label lengths and non-letters are bytes like any other: never changed.
  const auto odd = wire_name("A-1_Z.\x5B.");
  lower_name(odd.data(), odd.size(), a);
  CHECK(as_string(a, odd.size()) == as_string(wire_name("a-1_z.\x5b.")));
}

TEST_CASE("text_to_wire and wire_to_text round-trip names") {
  struct Case {
    std::string text;
    std::string canonical;  // wire_to_text(text_to_wire(text))
  } cases[] = {
      {"www.example.com.", "www.example.com."},
      {"Mixed.CASE.Example.", "Mixed.CASE.Example."},
      {".", "."},
      {"example.com", "example.com."},
      {std::string(63, 'x') + ".", std::string(63, 'x') + "."},
      {"_dmarc.sub-domain.example.", "_dmarc.sub-domain.example."},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    uint8_t wire[sinkhole::dns::kMaxNameWire];
    const size_t n = sinkhole::dns::text_to_wire(c.text, wire);
    REQUIRE(n > 0);
    CHECK(as_string(wire, n) == as_string(wire_name(c.canonical)));
    CHECK(sinkhole::dns::wire_to_text(wire, n) == c.canonical);
  }
}

TEST_CASE("text_to_wire rejects bad names and enforces 63/255 octets") {
  uint8_t wire[sinkhole::dns::kMaxNameWire];
  CHECK(sinkhole::dns::text_to_wire("a..b.", wire) == 0);
  CHECK(sinkhole::dns::text_to_wire(".a.", wire) == 0);
  CHECK(sinkhole::dns::text_to_wire("..", wire) == 0);
  CHECK(sinkhole::dns::text_to_wire(std::string(64, 'x') + ".", wire) == 0);

  // 3 x 63-octet labels + one of 61 = 254 octets + root = 255: accepted; one more octet is not.
  const std::string l63(63, 'a');
  const std::string max = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b') + ".";
  CHECK(sinkhole::dns::text_to_wire(max, wire) == 255);
  CHECK(sinkhole::dns::wire_to_text(wire, 255) == max);
  const std::string over = l63 + "." + l63 + "." + l63 + "." + std::string(62, 'b') + ".";
  CHECK(sinkhole::dns::text_to_wire(over, wire) == 0);
}

TEST_CASE("wire_to_text escapes dots and backslashes inside labels") {
  const std::vector<uint8_t> wire = {3, 'a', '.', 'b', 2, 'c', '\\', 0};
  CHECK(sinkhole::dns::wire_to_text(wire.data(), wire.size()) == "a\\.b.c\\\\.");
  const uint8_t root[] = {0};
  CHECK(sinkhole::dns::wire_to_text(root, 1) == ".");
}

TEST_CASE("NameError to_string names every class") {
  CHECK(std::string(sinkhole::dns::to_string(NameError::kPointerLoop)) ==
        "compression pointer loop");
  CHECK(std::string(sinkhole::dns::to_string(NameError::kTooLong)) == "name over 255 octets");
  for (int i = 0; i <= static_cast<int>(NameError::kTooLong); ++i)
    CHECK(std::string(sinkhole::dns::to_string(static_cast<NameError>(i))) != "?");
}

TEST_CASE("wire_to_log_text: names from the wire cannot break or colour a log line") {
  using sinkhole::dns::wire_to_log_text;
  auto text = [](std::initializer_list<uint8_t> wire) {
    const std::vector<uint8_t> w(wire);
    return wire_to_log_text(w.data(), w.size());
  };
  CHECK(text({3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}) == "www.example.");
  CHECK(text({0}) == ".");
  // Newline, ESC (a colour sequence), DEL, NUL: \xNN; the line stays one line.
  CHECK(text({9, 'a', '\n', 'x', 0x1b, '[', '3', '1', 'm', 0x7f, 1, 0, 0}) ==
        "a\\x0ax\\x1b[31m\\x7f.\\x00.");
  // A dot inside a label and a backslash keep their presentation escapes.
  CHECK(text({3, 'a', '.', 'b', 2, 'c', '\\', 0}) == "a\\.b.c\\\\.");
  // UTF-8 stays readable; invalid UTF-8 and bidi overrides do not.
  CHECK(text({4, 0xc3, 0xa9, 'x', 0xff, 3, 0xe2, 0x80, 0xae, 0}) ==
        "\xc3\xa9x\\xff.\\xe2\\x80\\xae.");
  for (char c : wire_to_log_text(std::vector<uint8_t>(255, 1).data(), 255))
    CHECK((static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
}
