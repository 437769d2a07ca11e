// SPDX-License-Identifier: MIT
// A TSIG secret file as the tools that make keys print it: the bare base64 secret, BIND's
// `tsig-keygen` (`key "name" { algorithm hmac-sha256; secret "…"; };`) or Knot's `keymgr -t`
// (`# hmac-sha256:name:…` then a YAML `key:` block with `secret: …`). Read by the snapshot
// builder at build time (policy/list_source.cc), so neither the feed's transfer thread nor
// a worker verifying a NOTIFY ever opens a file. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace sinkhole::policy {

struct TsigFileKey {
  std::string secret;     // base64, as ldns wants it
  std::string name;       // when the file names the key ("" otherwise)
  std::string algorithm;  // when the file names it ("" otherwise)
};

// Parses the text of a key file; false and `error` when it holds no valid base64 secret.
bool parse_tsig_key_text(std::string_view text, TsigFileKey& out, std::string* error);

// Whether `s` is non-empty, well-padded base64.
bool valid_base64(std::string_view s);

}  // namespace sinkhole::policy
