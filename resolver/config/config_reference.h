// SPDX-License-Identifier: MIT
// The configuration reference rendered from the key table (config_schema.h), so the
// documents cannot drift from what the loader accepts:
//   man_page        sinkholed.yaml(5), roff; the build writes man/sinkholed.yaml.5 with
//                   `sinkholed --config-reference man`
//   markdown        docs/CONFIG.md, committed; a CTest test compares it with the output
//   effective_*     `sinkholectl config show`: the settings in service, defaults filled in
// Pure functions of the table (and of a Config); any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "resolver/config/config.h"

namespace sinkhole::config {

// `version`: "0.1.0", shown in the page's footer.
std::string man_page(std::string_view version);
std::string markdown_reference();

// `key: value` per server setting in table order, "  # default" after those the file does
// not set; values as YAML (schema::yaml_text).
std::string effective_text(const Config& c);
// {"config": path, "settings": {"server.listen": {"value": [...], "default": false}, ...}}
nlohmann::ordered_json effective_json(const Config& c);

}  // namespace sinkhole::config
