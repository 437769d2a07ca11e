// SPDX-License-Identifier: MIT
// Placeholder until the RPZ secondary lands: the list stays pending (no copy), loudly.
#include <spdlog/spdlog.h>

#include "resolver/feeds/feed.h"

namespace sinkhole::feeds {

std::unique_ptr<Feed> make_rpz_feed(const policy::ListData& list, FeedContext& ctx) {
  spdlog::error("list {}: RPZ transfers are not built into this sinkholed", list.name);
  ctx.status->update(list.name, [](ListFeedState& s) {
    s.state = "unsupported";
    s.last_error = "RPZ transfers are not built into this sinkholed";
  });
  return nullptr;
}

}  // namespace sinkhole::feeds
