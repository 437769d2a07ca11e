// SPDX-License-Identifier: MIT
#include "resolver/observe/sketch_export.h"

#include <unistd.h>

#include <ctime>

#include "resolver/metrics/hash_key.h"

namespace sinkhole::observe {

std::string sketch_node_name(const ServerState& s) {
  const config::Config* cfg = s.live ? s.live->current()->config.get() : s.cfg;
  if (cfg && cfg->server.identity && !cfg->server.identity->empty())
    return cfg->server.identity->substr(0, metrics::kMaxSketchNameBytes);
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "sinkholed";
  return buf;
}

metrics::SketchDocument sketch_document(const ServerState& s, int64_t now_unix) {
  metrics::SketchDocument doc;
  doc.node = sketch_node_name(s);
  doc.generated_unix = now_unix;
  doc.key_from_file = s.cfg && !s.cfg->protected_users.key_file.empty();
  if (!s.block_stats) {
    doc.key_fingerprint = metrics::key_fingerprint({});
    return doc;
  }
  const auto& users = s.block_stats->protected_users();
  doc.key_fingerprint = metrics::key_fingerprint(users.key());
  const auto names = s.block_stats->categories();
  doc.categories.reserve(names.size());
  using Window = metrics::ProtectedUsers::Window;
  for (size_t id = 0; id < names.size(); ++id) {
    metrics::CategorySketch c;
    c.category = names[id];
    const auto cid = static_cast<uint16_t>(id);
    if (!users.window_registers(cid, now_unix, Window::kLastHour, c.last_hour.registers))
      continue;  // past kMaxCategories: not counted, so not exported
    users.window_registers(cid, now_unix, Window::kLastDay, c.last_day.registers);
    c.last_hour.estimate = metrics::HyperLogLog::estimate(c.last_hour.registers);
    c.last_day.estimate = metrics::HyperLogLog::estimate(c.last_day.registers);
    doc.categories.push_back(std::move(c));
  }
  return doc;
}

std::string render_sketches(const ServerState& s) {
  return metrics::to_json_text(sketch_document(s, static_cast<int64_t>(std::time(nullptr))));
}

}  // namespace sinkhole::observe
