// SPDX-License-Identifier: MIT
// The pure rules of an HTTP list source (resolver/feeds/http_feed.cc): which validators a
// response carried (ETag, Last-Modified), which conditional headers the next request
// sends, the version label of a copy, the content hash that tells a 200 with the bytes
// already serving from new content, and the retry delay after failures. No I/O; any
// thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sinkhole::feeds {

// What identifies a copy to its server and to us.
struct HttpValidators {
  std::string etag;           // as received, quotes and W/ included: sent back as is
  std::string last_modified;  // as received (an HTTP-date): sent back as is
  std::string hash;           // content_hash() of the bytes
  bool empty() const { return etag.empty() && last_modified.empty() && hash.empty(); }
  bool operator==(const HttpValidators&) const = default;
};

// A validator longer than this is ignored (a sane server sends tens of bytes).
inline constexpr size_t kMaxValidatorBytes = 512;

// One response header line as libcurl hands it over (CRLF included): a status line
// ("HTTP/1.1 200 OK") starts a new response (after a redirect), so it clears `v`'s ETag
// and Last-Modified; `ETag:` and `Last-Modified:` (any case) set them; others are ignored.
void take_header_line(std::string_view line, HttpValidators& v);

// The conditional request headers for the copy described by `v` ("If-None-Match: …",
// "If-Modified-Since: …"); none without validators. Values with a CR, LF or NUL are never
// sent (they would split the request).
std::vector<std::string> conditional_headers(const HttpValidators& v);

// The version label shown in reports and the audit log: `etag "x"`, else
// `last-modified <date>`, else `hash <hex>`.
std::string version_label(const HttpValidators& v);

// A stable 64-bit digest of the bytes (FNV-1a), as 16 hex digits: kept in the copy's meta,
// so it means the same after a restart.
std::string content_hash(std::string_view bytes);

// Milliseconds before the next attempt after `failures` (≥ 1) consecutive failed ones:
// min(refresh, 60 s) doubled per further failure, never more than `refresh`.
uint64_t retry_delay_ms(uint32_t refresh_seconds, uint64_t failures);

}  // namespace sinkhole::feeds
