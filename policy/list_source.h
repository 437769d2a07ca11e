// SPDX-License-Identifier: MIT
// Where a list's content comes from: a file (`path`), an RPZ primary (`primary` + `zone`,
// optional `tsig`, `on_expire`: a secondary of that zone over AXFR/IXFR), or a URL (`url`,
// `refresh`, `max_bytes`, `timeout`, `ca_file`). Parsed by the snapshot builder with
// file:line:column errors; the feed manager (resolver/feeds/feed_manager.h) reads it from
// each published snapshot to start, change or stop the list's feed. A feed list's content
// is the copy the feed saved in the state directory (resolver/feeds/list_store.h), never a
// file the configuration names. Load path (start-up, reload work thread); read-only after.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "resolver/config/socket_address.h"
#include "resolver/config/yaml_reader.h"

namespace sinkhole::policy {

struct TsigKeySpec {
  std::string name;                       // the key's name, as the primary knows it
  std::string algorithm = "hmac-sha256";  // hmac-md5, hmac-sha1, hmac-sha224/256/384/512
  std::string secret_file;  // holds the base64 secret (keymgr -t / tsig-keygen output)
  // The base64 secret read from secret_file by the build (policy/tsig_key.h): the feed's
  // transfer thread and the workers (NOTIFY) use it without opening a file.
  std::string secret;
  bool operator==(const TsigKeySpec&) const = default;
};

struct RpzFeedSpec {
  std::vector<config::SocketAddress> primaries;  // transfer from, NOTIFY accepted from
  std::string zone;                              // the zone's name, no trailing dot
  std::optional<TsigKeySpec> tsig;
  // At the SOA expire time without a successful refresh: keep serving the last copy and
  // warn (the default: a blocking product fails closed), or stop applying the list.
  enum class OnExpire : uint8_t { kKeep, kDrop };
  OnExpire on_expire = OnExpire::kKeep;
  bool operator==(const RpzFeedSpec&) const = default;
};

struct HttpFeedSpec {
  std::string url;                       // http:// or https://
  uint32_t refresh_seconds = 3600;       // how often the URL is asked again
  size_t max_bytes = size_t{256} << 20;  // a bigger download is refused
  uint32_t timeout_seconds = 60;         // one download, connect to last byte
  std::string ca_file;                   // "" = the system's CA bundle; TLS always verified
  bool operator==(const HttpFeedSpec&) const = default;
};

struct ListSource {
  enum class Kind : uint8_t { kFile, kRpz, kHttp };
  Kind kind = Kind::kFile;
  RpzFeedSpec rpz;    // kRpz
  HttpFeedSpec http;  // kHttp
  // A feed list's `updates:` what a new version the feed fetched becomes once the list guard
  // passes it: the copy serving (enforce, the default), or the list's staged copy, compiled
  // and tallied beside the one serving until `sinkholectl list promote` (stage).
  enum class Updates : uint8_t { kEnforce, kStage };
  Updates updates = Updates::kEnforce;
  bool is_feed() const { return kind != Kind::kFile; }
  bool operator==(const ListSource&) const = default;
};

// "file", "rpz", "http": the `source` label of reports and the audit log.
const char* source_name(ListSource::Kind k);

// The RPZ source keys (primary, zone, tsig, on_expire) or the HTTP ones (url, refresh,
// max_bytes, timeout, ca_file), and `updates` (either feed), of list mapping `l`, into
// `out`; errors at their node. A list
// has exactly one of `path`, `primary`, `url`. `base`: relative secret_file/ca_file paths are
// relative to it (the config file's directory).
void read_list_source(config::YamlReader& r, const YAML::Node& l, const std::string& where,
                      const std::filesystem::path& base, ListSource& out);

}  // namespace sinkhole::policy
