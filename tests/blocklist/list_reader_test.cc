// SPDX-License-Identifier: MIT
// parse_list / read_list_file: dispatch by format, duplicate merging and the entry/rule
// counts shared by every format, an unreadable file, and the parse speed on a generated list.
#include "blocklist/list_reader.h"

#include "blocklist/formats/reader_output.h"
#include "util/read_file.h"

#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace sinkhole::blocklist;

TEST_CASE("parse_list dispatches by format and keeps source and format") {
  struct Case {
    Format format;
    const char* text;
    const char* name;
  };
  const Case cases[] = {
      {Format::kDomains, "a.example\n", "a.example"},
      {Format::kHosts, "0.0.0.0 a.example\n", "a.example"},
      {Format::kAdblock, "||a.example^\n", "a.example"},
      {Format::kRpz, "a.example CNAME .\n", "a.example"},
      {Format::kPatterns, "a.example\n", "a.example"},
  };
  for (const Case& c : cases) {
    CAPTURE(to_string(c.format));
    ParsedList l = parse_list(c.text, c.format, "mem:test");
    CHECK(l.source == "mem:test");
    CHECK(l.format == c.format);
    REQUIRE(l.domains.size() == 1);
    CHECK(l.domains[0].name == c.name);
    CHECK(l.stats.entries == 1);
    CHECK(l.stats.rules == 1);
  }
}

TEST_CASE("duplicates: same name, scope and kind merge; the first line is kept") {
  ParsedList l = parse_list(
      "||a.example^\n"               // 1
      "||A.Example.^\n"              // 2 duplicate of 1
      "@@||a.example^\n"             // 3 exception: another rule, same entry
      "||xn--c-cc-5na85j946j.vn^\n"  // 4
      "||cá-cược.vn^\n"              // 5 duplicate of 4
      "@@||a.example^$important\n",  // 6 duplicate of 3
      Format::kAdblock, "mem");
  REQUIRE(l.domains.size() == 3);
  CHECK(l.domains[0].line == 1);
  CHECK(l.domains[1].line == 3);
  CHECK(l.domains[1].kind == RuleKind::kException);
  CHECK(l.domains[2].line == 4);
  CHECK(l.stats.duplicates == 3);
  CHECK(l.stats.entries == 2);
  CHECK(l.stats.rules == 3);
}

TEST_CASE("duplicates: interleaved repeats keep first-seen order (short and long names)") {
  // Names both inside and beyond the small-string buffer, so that compaction moves both kinds.
  std::string text;
  std::vector<std::string> want;
  for (int i = 0; i < 3000; ++i) {
    std::string name = (i % 2 ? "n" : std::string(40, 'x') + "-") + std::to_string(i) + ".ex";
    text += name + "\n";
    want.push_back(name);
    if (i % 3 == 0) text += want[static_cast<size_t>(i) / 2] + "\n";  // an earlier name again
  }
  ParsedList l = parse_list(text, Format::kDomains, "mem");
  REQUIRE(l.domains.size() == want.size());
  bool same_order = true;
  for (size_t i = 0; i < want.size(); ++i) same_order &= l.domains[i].name == want[i];
  CHECK(same_order);
  CHECK(l.stats.duplicates == 1000);
  CHECK(l.stats.entries == 3000);
}

TEST_CASE("duplicates: an RPZ name with name and *.name is one entry, two rules") {
  ParsedList l = parse_list("a.example CNAME .\n*.a.example CNAME .\nb.example CNAME .\n",
                            Format::kRpz, "mem");
  CHECK(l.stats.entries == 2);
  CHECK(l.stats.rules == 3);
  CHECK(l.stats.duplicates == 0);
}

TEST_CASE("duplicates: patterns merge on expression and kind") {
  ParsedList l =
      parse_list("*.bet*.com\n*.BET*.com.\n@@*.bet*.com\n/x/\n/x/\n", Format::kPatterns, "mem");
  CHECK(l.patterns.size() == 3);
  CHECK(l.stats.duplicates == 2);
  CHECK(l.stats.entries == 2);
  CHECK(l.stats.rules == 3);
}

TEST_CASE("parse_list strips a BOM for every format") {
  for (Format f :
       {Format::kDomains, Format::kHosts, Format::kAdblock, Format::kRpz, Format::kPatterns}) {
    CAPTURE(to_string(f));
    std::string text = "\xEF\xBB\xBF";
    text += f == Format::kHosts     ? "0.0.0.0 a.example"
            : f == Format::kAdblock ? "||a.example^"
            : f == Format::kRpz     ? "a.example CNAME ."
                                    : "a.example";
    ParsedList l = parse_list(text, f, "mem");
    CHECK(l.stats.rejects.empty());
    REQUIRE(l.domains.size() == 1);
    CHECK(l.domains[0].name == "a.example");
  }
}

TEST_CASE("garbage: mutated fixtures never crash, and rejects point at real lines") {
  // A small deterministic fuzz over every reader (run it under ASan to make it count): flip,
  // insert and delete bytes, including NUL, CR, parentheses and quotes, in each fixture.
  struct Fixture {
    const char* file;
    Format format;
  };
  const Fixture fixtures[] = {
      {"/domains.txt", Format::kDomains},   {"/hosts.txt", Format::kHosts},
      {"/adblock.txt", Format::kAdblock},   {"/policy.rpz", Format::kRpz},
      {"/patterns.txt", Format::kPatterns},
  };
  const char kNasty[] = {'\0', '\r', '\n', '(', ')', '"', ';', '\\', '$', '*', '.', '\xff', ' '};
  std::mt19937 rng(20240601);
  for (const Fixture& f : fixtures) {
    CAPTURE(f.file);
    ParsedList clean = read_list_file(std::string(SINKHOLE_FIXTURES) + f.file, f.format);
    REQUIRE(clean.stats.lines > 0);
    const auto read = sinkhole::util::read_file(std::string(SINKHOLE_FIXTURES) + f.file, nullptr);
    REQUIRE(read.has_value());
    const std::string& original = *read;
    for (int round = 0; round < 150; ++round) {
      std::string text = original;
      for (int edits = 1 + int(rng() % 8); edits > 0 && !text.empty(); --edits) {
        size_t at = rng() % text.size();
        char c = rng() % 2 ? kNasty[rng() % sizeof kNasty] : char(rng() % 256);
        switch (rng() % 3) {
          case 0:
            text[at] = c;
            break;
          case 1:
            text.insert(text.begin() + long(at), c);
            break;
          default:
            text.erase(at, 1 + rng() % 5);
            break;
        }
      }
      ParsedList l = parse_list(text, f.format, "fuzz");
      for (const Reject& r : l.stats.rejects) {
        CHECK(r.line >= 1);
        CHECK(r.line <= l.stats.lines);
      }
      for (const DomainEntry& d : l.domains) CHECK(d.line <= l.stats.lines);
    }
  }
}

TEST_CASE("read_list_file: an unreadable file is one reject at line 0") {
  ParsedList l = read_list_file(SINKHOLE_FIXTURES "/does-not-exist.txt", Format::kDomains);
  CHECK(l.source == SINKHOLE_FIXTURES "/does-not-exist.txt");
  CHECK(l.domains.empty());
  REQUIRE(l.stats.rejects.size() == 1);
  CHECK(l.stats.rejects[0].line == 0);
  CHECK(l.stats.rejects[0].reason == "cannot read file: No such file or directory");

  ParsedList dir = read_list_file(SINKHOLE_FIXTURES, Format::kDomains);
  REQUIRE(dir.stats.rejects.size() == 1);
  CHECK(dir.stats.rejects[0].line == 0);
  CHECK(dir.stats.rejects[0].reason.starts_with("cannot read file: "));
}

TEST_CASE("parse_list: 200,000 generated names parse and merge quickly") {
  std::string text;
  text.reserve(200000 * 24);
  for (int i = 0; i < 200000; ++i) {
    text += "host-" + std::to_string(i) + ".Sub" + std::to_string(i % 97) + ".example.com\n";
  }
  text += "host-0.sub0.example.com\n";  // one duplicate at the end
  auto start = std::chrono::steady_clock::now();
  ParsedList l = parse_list(text, Format::kDomains, "generated");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  CHECK(l.stats.entries == 200000);
  CHECK(l.stats.duplicates == 1);
  CHECK(l.stats.rejects.empty());
  MESSAGE("parsed 200,001 lines in " << ms << " ms");
  // Generous so that Debug and sanitizer builds pass too; Release takes tens of ms.
  CHECK(ms < 5000);
}

// Records what a streaming parse hands over.
struct RecordingSink : DomainSink {
  size_t expected_lines = 0;
  std::vector<std::string> names;
  std::vector<uint32_t> lines;
  std::vector<size_t> chunk_sizes;
  size_t local_records = 0;
  void expect(size_t l, size_t) override { expected_lines = l; }
  void on_domains(std::span<DomainEntry> entries, uint32_t first) override {
    CHECK(first == names.size());  // indexes contiguous, each entry once
    chunk_sizes.push_back(entries.size());
    for (const auto& e : entries) {
      names.push_back(e.name);
      lines.push_back(e.line);
      local_records += e.local.size();
    }
  }
};

TEST_CASE("streaming: entries reach the sink in chunks, once each, in order, unmerged") {
  std::string text;
  const int n = 3 * int(kStreamChunk) + 17;
  for (int i = 0; i < n; ++i) text += "Name-" + std::to_string(i) + ".example\n";
  text += "bad name.example\n";  // a reject, counted as without a sink
  text += "name-0.example\n";    // a repeat: the sink (matcher) merges, not parse_list
  RecordingSink sink;
  ParsedList l = parse_list(text, Format::kDomains, "mem:stream", &sink);
  CHECK(l.domains.empty());
  CHECK(l.streamed == uint32_t(n + 1));
  CHECK(sink.expected_lines >= size_t(n + 2));
  REQUIRE(sink.names.size() == size_t(n + 1));
  CHECK(sink.names[0] == "name-0.example");
  CHECK(sink.names[n - 1] == "name-" + std::to_string(n - 1) + ".example");
  CHECK(sink.names[n] == "name-0.example");
  CHECK(sink.lines[n] == uint32_t(n + 2));
  for (size_t c : sink.chunk_sizes) CHECK(c <= kStreamChunk);
  CHECK(sink.chunk_sizes.size() >= 4);
  REQUIRE(l.stats.rejects.size() == 1);
  CHECK(l.stats.rejects[0].line == uint32_t(n + 1));
  // Domain figures are the sink owner's to add; none from parse_list.
  CHECK(l.stats.entries == 0);
  CHECK(l.stats.rules == 0);
  CHECK(l.stats.duplicates == 0);
}

TEST_CASE("streaming: an RPZ zone reaches the sink whole, with its local data") {
  const char* zone =
      "$ORIGIN rpz.test.\n$TTL 300\n@ SOA localhost. root.localhost. 1 43200 3600 86400 300\n"
      "  NS localhost.\n"
      "a.example CNAME .\n"
      "b.example A 192.0.2.1\n"
      "b.example A 192.0.2.2\n"
      "*.c.example CNAME rpz-passthru.\n";
  RecordingSink sink;
  ParsedList l = parse_list(zone, Format::kRpz, "mem:rpz", &sink);
  CHECK(l.domains.empty());
  CHECK(sink.names == std::vector<std::string>{"a.example", "b.example", "c.example"});
  CHECK(sink.local_records == 2);
}

TEST_CASE("streaming: patterns stay in the result, merged and counted") {
  RecordingSink sink;
  ParsedList l = parse_list("/casino[0-9]+/\n/casino[0-9]+/\nplain.example\n", Format::kPatterns,
                            "mem:pat", &sink);
  CHECK(sink.names == std::vector<std::string>{"plain.example"});
  CHECK(l.patterns.size() == 1);
  CHECK(l.stats.duplicates == 1);
  CHECK(l.stats.rules == 1);
}

}  // namespace
