// SPDX-License-Identifier: MIT
// YAML → DnstapConfig, checked as the other sections are: unknown keys, wrong types and an
// output that is not exactly one of socket/file are errors at their file:line:column.
#include "resolver/config/dnstap_config.h"

#include <fmt/format.h>
#include <sys/un.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "resolver/config/config_schema.h"
#include "resolver/config/yaml_reader.h"
#include "sinkhole/version.h"

namespace sinkhole::config {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "sinkholed";
  return buf;
}

std::optional<bool> boolean(YamlReader& r, const YAML::Node& n, const std::string& what) {
  auto v = r.scalar(n, what);
  if (v && (*v == "true" || *v == "false")) return *v == "true";
  if (v) r.error_at(n, fmt::format("{} must be true or false, not '{}'", what, *v));
  return std::nullopt;
}

// A Unix socket path must fit sockaddr_un.sun_path with its terminating NUL.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

}  // namespace

void read_dnstap(YamlReader& r, const YAML::Node& n, std::optional<DnstapConfig>& out) {
  if (!r.check_keys(n, schema::keys_of("dnstap"), "dnstap")) return;
  const size_t errors_before = r.errors().size();
  DnstapConfig d;
  d.identity = host_name();
  d.version = std::string("sinkholed ") + sinkhole::kVersion;

  const YAML::Node socket = n["socket"];
  const YAML::Node file = n["file"];
  if (socket && file) {
    r.error_at(file, "dnstap: give socket or file, not both");
  } else if (!socket && !file) {
    r.error_at(n,
               "dnstap needs an output: socket: PATH (a collector's Frame Streams socket) or "
               "file: PATH");
  } else {
    const bool is_socket = static_cast<bool>(socket);
    const std::string what = is_socket ? "dnstap.socket" : "dnstap.file";
    const YAML::Node& node = is_socket ? socket : file;
    if (auto path = r.scalar(node, what)) {
      if (path->empty())
        r.error_at(node, what + " must not be empty");
      else if (is_socket && path->size() > kMaxSocketPath)
        r.error_at(node, fmt::format("{} is {} bytes long; a Unix socket path has at most {}", what,
                                     path->size(), kMaxSocketPath));
      d.path = *path;
      d.output = is_socket ? DnstapConfig::Output::kSocket : DnstapConfig::Output::kFile;
    }
  }
  if (const auto i = n["identity"])
    if (auto v = r.scalar(i, "dnstap.identity")) d.identity = *v;
  if (const auto v = n["version"])
    if (auto t = r.scalar(v, "dnstap.version")) d.version = *t;
  if (const auto q = n["client_queries"])
    if (auto b = boolean(r, q, "dnstap.client_queries")) d.client_queries = *b;
  if (const auto q = n["client_responses"])
    if (auto b = boolean(r, q, "dnstap.client_responses")) d.client_responses = *b;
  if (r.errors().size() == errors_before) out = std::move(d);
}

}  // namespace sinkhole::config
