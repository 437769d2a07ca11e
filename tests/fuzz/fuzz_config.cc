// SPDX-License-Identifier: MIT
// Fuzz target: the configuration file, as sinkholed's main and every reload read it: the
// YAML text parsed once into a Document, config::parse_config for the server settings,
// then (when those are valid, as in main) policy::build_snapshot for lists, actions and
// policies from the same Document. Neither may crash, hang or leak whatever the text;
// errors come back as messages.
//
// Files: the document sits in a private FuzzDir (the process's working directory too)
// holding copies of the example and fixture lists (list_files.h), and upstreams default
// from a resolv.conf there. A configuration whose lists name any other file is validated
// but not built: a fuzzer must not open (or block on a FIFO at) whatever path it invents.
#include <filesystem>
#include <set>
#include <string>

#include "policy/snapshot_builder.h"
#include "resolver/config/config.h"
#include "resolver/config/yaml_reader.h"
#include "tests/fuzz/list_files.h"

namespace {

using namespace sinkhole;

struct Files {
  fuzz::FuzzDir dir;
  std::set<std::string> lists = fuzz::write_list_files(dir);
  std::string config = dir.path("sinkholed.yaml");
  std::string resolv_conf = dir.write("resolv.conf", "nameserver 127.0.0.1\n");
};

// Whether every list path resolves, as snapshot_builder.cc resolves it, to one of ours.
bool lists_are_ours(const config::Document& doc, const std::set<std::string>& ours) {
  try {
    if (!doc.root.IsMap()) return true;  // parse_config said no already
    const YAML::Node lists = doc.root["lists"];
    if (!lists || !lists.IsMap()) return true;
    const std::filesystem::path base = std::filesystem::path(doc.path).parent_path();
    for (const auto& kv : lists) {
      const YAML::Node l = kv.second;
      if (!l.IsMap()) continue;
      const YAML::Node p = l["path"];
      if (!p) continue;
      if (!p.IsScalar()) continue;
      const std::filesystem::path path(p.Scalar());
      const std::string full = (path.is_relative() ? base / path : path).lexically_normal();
      if (!ours.count(full)) return false;
    }
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Files files;
  const auto doc = config::parse_document(fuzz::as_text(data, size), files.config);
  if (!doc.document) {
    FUZZ_CHECK(!doc.errors.empty());
    return 0;
  }
  const auto loaded = config::parse_config(*doc.document, files.resolv_conf);
  if (!loaded.config) {
    FUZZ_CHECK(!loaded.errors.empty());
    return 0;
  }
  if (!lists_are_ours(*doc.document, files.lists)) return 0;
  const auto built = policy::build_snapshot(*doc.document, 1);
  FUZZ_CHECK(built.snapshot || !built.errors.empty());
  return 0;
}
