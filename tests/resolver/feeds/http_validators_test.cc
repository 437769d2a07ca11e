// SPDX-License-Identifier: MIT
// The pure rules of an HTTP list source: validators taken from response headers (a redirect
// starts over), the conditional headers sent back, version labels, the content hash, the
// retry delay, and the validators' round trip through a saved copy's meta (a restart asks
// with them).
#include "resolver/feeds/http_validators.h"

#include <doctest/doctest.h>

#include "policy/list_copies.h"
#include "resolver/feeds/list_store.h"
#include "tests/policy/temp_dir.h"

namespace feeds = sinkhole::feeds;
namespace policy = sinkhole::policy;
using feeds::HttpValidators;

TEST_CASE("ETag and Last-Modified are taken in any case; a new status line starts over") {
  HttpValidators v;
  feeds::take_header_line("HTTP/1.1 301 Moved Permanently\r\n", v);
  feeds::take_header_line("ETag: \"from-the-redirect\"\r\n", v);
  feeds::take_header_line("HTTP/1.1 200 OK\r\n", v);
  CHECK(v.etag.empty());
  feeds::take_header_line("etag:   W/\"abc-1\"  \r\n", v);
  feeds::take_header_line("LAST-MODIFIED: Sun, 06 Dec 2026 04:00:00 GMT\r\n", v);
  feeds::take_header_line("Content-Type: text/plain\r\n", v);
  feeds::take_header_line("\r\n", v);
  CHECK(v.etag == "W/\"abc-1\"");
  CHECK(v.last_modified == "Sun, 06 Dec 2026 04:00:00 GMT");
}

TEST_CASE("an oversized validator is ignored") {
  HttpValidators v;
  feeds::take_header_line("ETag: \"" + std::string(feeds::kMaxValidatorBytes, 'x') + "\"\r\n", v);
  CHECK(v.etag.empty());
}

TEST_CASE("conditional headers: both validators, none without, never a split header") {
  CHECK(feeds::conditional_headers({}).empty());
  CHECK(feeds::conditional_headers({"", "", "0123456789abcdef"}).empty());
  const auto h = feeds::conditional_headers({"\"v1\"", "Sun, 06 Dec 2026 04:00:00 GMT", "x"});
  REQUIRE(h.size() == 2);
  CHECK(h[0] == "If-None-Match: \"v1\"");
  CHECK(h[1] == "If-Modified-Since: Sun, 06 Dec 2026 04:00:00 GMT");
  CHECK(feeds::conditional_headers({"\"a\"\r\nX-Evil: 1", "", ""}).empty());
}

TEST_CASE("version labels: the ETag, else Last-Modified, else the hash") {
  CHECK(feeds::version_label({"\"v1\"", "Sun, 06 Dec 2026 04:00:00 GMT", "ab"}) == "etag \"v1\"");
  CHECK(feeds::version_label({"", "Sun, 06 Dec 2026 04:00:00 GMT", "ab"}) ==
        "last-modified Sun, 06 Dec 2026 04:00:00 GMT");
  CHECK(feeds::version_label({"", "", "00ff"}) == "hash 00ff");
}

TEST_CASE("the content hash is stable, 16 hex digits, and tells different bytes apart") {
  CHECK(feeds::content_hash("") == "cbf29ce484222325");  // FNV-1a 64 offset basis
  CHECK(feeds::content_hash("a.example\n") == feeds::content_hash("a.example\n"));
  CHECK(feeds::content_hash("a.example\n") != feeds::content_hash("b.example\n"));
  CHECK(feeds::content_hash("a.example\n").size() == 16);
}

TEST_CASE("retry delay: min(refresh, 60 s), doubling per failure, never over refresh") {
  CHECK(feeds::retry_delay_ms(3600, 1) == 60'000);
  CHECK(feeds::retry_delay_ms(3600, 2) == 120'000);
  CHECK(feeds::retry_delay_ms(3600, 6) == 1'920'000);
  CHECK(feeds::retry_delay_ms(3600, 7) == 3'600'000);
  CHECK(feeds::retry_delay_ms(3600, 1000) == 3'600'000);
  CHECK(feeds::retry_delay_ms(10, 1) == 10'000);
  CHECK(feeds::retry_delay_ms(10, 5) == 10'000);
  CHECK(feeds::retry_delay_ms(90, 2) == 90'000);
}

TEST_CASE("the validators survive in the copy's meta (a restart asks with them)") {
  sinkhole::test::TempDir tmp;
  const feeds::ListStore store(tmp.dir().string());
  feeds::CopyMeta m;
  m.source = "http";
  m.who = "feed";
  m.origin = "https://lists.example/gambling.txt";
  m.etag = "W/\"abc-1\"";
  m.last_modified = "Sun, 06 Dec 2026 04:00:00 GMT";
  m.hash = feeds::content_hash("a.example\n");
  m.version = feeds::version_label({m.etag, m.last_modified, m.hash});
  m.seen_unix_ms = 1'700'000'000'000;
  REQUIRE(store.write("gov", policy::kCopyCandidate, "a.example\n", m).empty());
  REQUIRE(store.promote_candidate("gov").empty());
  const auto back = store.meta("gov", policy::kCopyCurrent);
  REQUIRE(back);
  const HttpValidators v{back->etag, back->last_modified, back->hash};
  CHECK(v == HttpValidators{m.etag, m.last_modified, m.hash});
  CHECK(back->version == "etag W/\"abc-1\"");
  CHECK(back->origin == m.origin);
  CHECK(back->seen_unix_ms == m.seen_unix_ms);
  CHECK(feeds::conditional_headers(v).size() == 2);
}
