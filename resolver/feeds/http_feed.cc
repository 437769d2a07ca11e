// SPDX-License-Identifier: MIT
// Placeholder until the HTTP source lands: the list stays pending (no copy), loudly.
#include <spdlog/spdlog.h>

#include "resolver/feeds/feed.h"

namespace sinkhole::feeds {

std::unique_ptr<Feed> make_http_feed(const policy::ListData& list, FeedContext& ctx) {
  spdlog::error("list {}: HTTP sources are not built into this sinkholed", list.name);
  ctx.status->update(list.name, [](ListFeedState& s) {
    s.state = "unsupported";
    s.last_error = "HTTP sources are not built into this sinkholed";
  });
  return nullptr;
}

}  // namespace sinkhole::feeds
