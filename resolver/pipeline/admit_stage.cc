// SPDX-License-Identifier: MIT
#include "resolver/pipeline/admit_stage.h"

namespace sinkhole::pipeline {

namespace {
policy::ClientGroups table_of(const std::vector<policy::Cidr>& prefixes) {
  policy::ClientGroups::Builder b;
  // The configuration loader has checked every prefix; one group, so no clash either.
  for (const auto& c : prefixes) b.add(c, 0, nullptr);
  return b.build();
}
}  // namespace

void AdmitStage::configure(const config::AccessConfig& cfg) {
  allow_ = table_of(cfg.allow_query);
  deny_ = table_of(cfg.deny_query);
  proxies_ = table_of(cfg.proxy_protocol_from);
  proxies_on_ = !cfg.proxy_protocol_from.empty();
  drop_ = cfg.refuse_action == config::AccessConfig::RefuseAction::kDrop;
}

}  // namespace sinkhole::pipeline
