// SPDX-License-Identifier: MIT
// infer_format: each format is recognised from its content whatever the file is called;
// the extension decides only when the content does not (no entry line, no majority, plain
// names that fit domains and patterns alike); with neither, domains. The reason names what
// was seen.
#include "blocklist/format_inference.h"

#include <doctest/doctest.h>

#include <string>

namespace {

using sinkhole::blocklist::describe;
using sinkhole::blocklist::Format;
using sinkhole::blocklist::FormatBasis;
using sinkhole::blocklist::infer_format;

TEST_CASE("each format is recognised by its content, whatever the file name") {
  struct Case {
    const char* what;
    const char* text;
    Format format;
    const char* why;
  };
  const Case cases[] = {
      {"hosts", "# Title: scam\n\n0.0.0.0 a.example\n127.0.0.1 b.example # x\n:: c.example\n",
       Format::kHosts, "3 of 3 sampled lines are `address name`"},
      {"hosts with a header of localhost lines",
       "127.0.0.1 localhost\n::1 localhost ip6-localhost\nfe80::1%lo0 localhost\n0.0.0.0 "
       "x.example\n",
       Format::kHosts, "4 of 4 sampled lines are `address name`"},
      {"adblock", "! Title: crypto\n||a.example^\n||b.example^$important\n@@||c.example^\n",
       Format::kAdblock, "3 of 3 sampled lines are `||name^` rules"},
      {"adblock header", "[Adblock Plus 2.0]\nexample.com\n", Format::kAdblock,
       "`[Adblock Plus 2.0]` header at line 1"},
      {"rpz without $ORIGIN", "$TTL 300\n@ SOA localhost. root.localhost. 1 2 3 4 5\n  NS x.\n",
       Format::kRpz, "zone file: `$TTL` at line 1"},
      {"rpz records only", "; zone\nnx.example CNAME .\n*.nx.example CNAME .\n", Format::kRpz,
       "zone file: `CNAME` at line 2"},
      {"rpz SOA", "@ IN SOA ns. host. 1 2 3 4 5\n", Format::kRpz, "zone file: `SOA` at line 1"},
      {"patterns", "# p\n/^ads?[0-9]*\\./\n*.bet*.com\nplain.example\n@@/^safe\\./\n",
       Format::kPatterns, "3 of 4 sampled lines are regex or wildcard rules, the rest plain names"},
      {"domains", "\xEF\xBB\xBF# d\nexample.com\nwww.example.com.  # c\n*.wild.example\n1.2.3.4\n",
       Format::kDomains, "4 of 4 sampled lines are plain names"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    for (const char* path : {"/l/list.txt", "/l/list.domains", "/l/list"}) {
      CAPTURE(path);
      const auto r = infer_format(c.text, path);
      CHECK(r.format == c.format);
      CHECK(r.basis == FormatBasis::kContent);
      CHECK(r.why == c.why);
    }
  }
}

TEST_CASE("the extension decides only when the content does not") {
  // Plain names fit both the domains and the patterns reader.
  auto r = infer_format("a.example\nb.example\n", "/l/x.patterns");
  CHECK(r.format == Format::kPatterns);
  CHECK(r.basis == FormatBasis::kExtension);
  CHECK(r.why.find("extension .patterns") == 0);
  // Content beats a misleading extension.
  r = infer_format("0.0.0.0 a.example\n", "/l/x.rpz");
  CHECK(r.format == Format::kHosts);
  CHECK(r.basis == FormatBasis::kContent);
  r = infer_format("a.example\nb.example\n", "/l/x.hosts");
  CHECK(r.format == Format::kDomains);
  // Nothing to sniff: the extension, else domains by default.
  for (const char* text : {"", "# only comments\n\n", "! adblock comments\n"}) {
    CAPTURE(text);
    r = infer_format(text, "/l/x.hosts");
    CHECK(r.format == Format::kHosts);
    CHECK(r.basis == FormatBasis::kExtension);
    CHECK(r.why == "extension .hosts (no entry line to sniff)");
    r = infer_format(text, "/l.d/x");
    CHECK(r.format == Format::kDomains);
    CHECK(r.basis == FormatBasis::kDefault);
  }
  // Words are not zone records, though `a` is a record type.
  r = infer_format("not a name\nnot a name either\n", "/l/x.txt");
  CHECK(r.format == Format::kDomains);
  CHECK(r.basis == FormatBasis::kDefault);
  // No majority: half garbage, half hosts.
  r = infer_format("0.0.0.0 a.example\nsome words here\n", "/l/x.adblock");
  CHECK(r.format == Format::kAdblock);
  CHECK(r.basis == FormatBasis::kExtension);
  CHECK(r.why == "extension .adblock (no kind of line is a majority of 2)");
}

TEST_CASE("only the first lines are sniffed") {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "0.0.0.0 h" + std::to_string(i) + ".example\n";
  for (int i = 0; i < 1000; ++i) text += "d" + std::to_string(i) + ".example\n";
  const auto r = infer_format(text, "x");
  CHECK(r.format == Format::kHosts);
  CHECK(r.why == "200 of 200 sampled lines are `address name`");
}

TEST_CASE("labels and descriptions say where the format came from") {
  using sinkhole::blocklist::format_label;
  CHECK(format_label(Format::kHosts, FormatBasis::kConfigured) == "hosts");
  CHECK(format_label(Format::kHosts, FormatBasis::kContent) == "hosts (inferred from content)");
  CHECK(format_label(Format::kRpz, FormatBasis::kExtension) == "rpz (inferred from extension)");
  CHECK(format_label(Format::kDomains, FormatBasis::kDefault) == "domains (default)");
  CHECK(describe(
            {Format::kHosts, FormatBasis::kContent, "1 of 1 sampled lines are `address name`"}) ==
        "hosts (inferred from content: 1 of 1 sampled lines are `address name`)");
  CHECK(describe({Format::kDomains, FormatBasis::kDefault, "no entry line to sniff"}) ==
        "domains (default: no entry line to sniff)");
  CHECK(describe({Format::kAdblock, FormatBasis::kConfigured, ""}) == "adblock");
}

}  // namespace
