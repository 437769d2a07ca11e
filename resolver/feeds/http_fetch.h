// SPDX-License-Identifier: MIT
// One bounded HTTP(S) GET with libcurl, for an HTTP list source (resolver/feeds/
// http_feed.cc): conditional on the copy's validators, at most `max_bytes` of body
// (counted as it arrives, whatever Content-Length says), one `timeout` from connect to
// last byte, http and https only (no downgrade from https on a redirect), at most
// kMaxRedirects redirects, TLS always verified (`ca_file` or the system's bundle), no
// proxy from the environment. Blocks: call it on a download thread, never on the control
// loop or a worker. `cancel` set from another thread ends the transfer within about a
// second.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "resolver/feeds/http_validators.h"

namespace sinkhole::feeds {

inline constexpr long kMaxRedirects = 5;

struct HttpGet {
  std::string url;
  size_t max_bytes = 0;
  uint32_t timeout_seconds = 60;
  std::string ca_file;        // "" = the system's CA bundle
  HttpValidators validators;  // of the copy we have: sent as If-None-Match/If-Modified-Since
};

struct HttpGot {
  enum class Outcome : uint8_t { kContent, kNotModified, kFailed, kCancelled };
  Outcome outcome = Outcome::kFailed;
  long status = 0;            // the last response's HTTP status, 0 when none arrived
  std::string body;           // kContent
  HttpValidators validators;  // kContent: the response's ETag / Last-Modified
  std::string error;          // kFailed: one line naming the cause
  std::string error_kind;     // kFailed: "http 503", "curl 7", "too large": stable, for
                              // logging a failure once per change of kind
  bool too_large = false;     // kFailed because the body passed max_bytes
};

// Once, on the control thread, before the first download thread starts.
void http_global_init();

HttpGot http_get(const HttpGet& req, const std::atomic<bool>& cancel);

}  // namespace sinkhole::feeds
