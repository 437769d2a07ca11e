// SPDX-License-Identifier: MIT
#include "resolver/feeds/http_fetch.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "sinkhole/version.h"

namespace sinkhole::feeds {

namespace {

struct Transfer {
  const HttpGet* req;
  const std::atomic<bool>* cancel;
  CURL* curl;
  HttpGot* got;
  HttpValidators headers;
};

size_t on_body(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  const size_t len = size * n;
  // Only a 200 is a copy; the body of an error or a redirect is not kept.
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return len;
  if (t->got->body.size() + len > t->req->max_bytes) {
    t->got->too_large = true;
    return CURL_WRITEFUNC_ERROR;  // aborts the transfer: CURLE_WRITE_ERROR
  }
  t->got->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  take_header_line(std::string_view(data, size * n), t->headers);
  return size * n;
}

int on_progress(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(p)->cancel->load(std::memory_order_relaxed) ? 1 : 0;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

}  // namespace

void http_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpGot http_get(const HttpGet& req, const std::atomic<bool>& cancel) {
  HttpGot got;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    got.error = got.error_kind = "libcurl could not make a handle";
    return got;
  }
  CURL* c = curl.get();
  Transfer t{&req, &cancel, c, &got, {}};
  char errbuf[CURL_ERROR_SIZE] = {};
  const bool https = req.url.starts_with("https://");
  const long timeout_ms = static_cast<long>(req.timeout_seconds) * 1000;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& h : conditional_headers(req.validators)) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    if (!next) {
      got.error = got.error_kind = "out of memory";
      return got;
    }
    (void)headers.release();
    headers.reset(next);
  }
  const std::string agent = std::string("sinkholed/") + kVersion;
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  // A list compresses well; the limit applies to the decoded bytes (a gzip bomb stops at
  // max_bytes like any other body).
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, kMaxRedirects);
  // Only the URL the configuration names is asked: no http_proxy/https_proxy from the
  // environment a service happens to inherit.
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!req.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, req.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10'000L));
  // A stalled transfer (under 1 byte/s) ends before the whole timeout passes.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::min<uint32_t>(req.timeout_seconds, 30)));
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(req.max_bytes));
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);

  const CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &got.status);
  if (rc == CURLE_ABORTED_BY_CALLBACK && cancel.load()) {
    got.outcome = HttpGot::Outcome::kCancelled;
    got.body.clear();
    return got;
  }
  if (rc != CURLE_OK) {
    got.body.clear();
    if (got.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      got.too_large = true;
      got.error = fmt::format("the download passed max_bytes ({} bytes)", req.max_bytes);
      got.error_kind = "too large";
    } else if (rc == CURLE_HTTP_RETURNED_ERROR) {
      got.error = fmt::format("HTTP {}", got.status);
      got.error_kind = "http " + std::to_string(got.status);
    } else {
      // errbuf holds the detail ("Failed to connect to … after 3 ms: …"); it varies
      // between attempts, so the kind is the code.
      got.error = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
      got.error_kind = "curl " + std::to_string(static_cast<int>(rc));
    }
    return got;
  }
  if (got.status == 304) {
    got.outcome = HttpGot::Outcome::kNotModified;
    return got;
  }
  if (got.status != 200) {
    got.body.clear();
    got.error = fmt::format("HTTP {} (only 200 and 304 are understood)", got.status);
    got.error_kind = "http " + std::to_string(got.status);
    return got;
  }
  got.outcome = HttpGot::Outcome::kContent;
  got.validators = t.headers;
  got.validators.hash = content_hash(got.body);
  return got;
}

}  // namespace sinkhole::feeds
