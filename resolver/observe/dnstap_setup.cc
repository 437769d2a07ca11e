// SPDX-License-Identifier: MIT
#include "resolver/observe/dnstap_setup.h"

#include <spdlog/spdlog.h>

#include <string>

namespace sinkhole::observe {

std::unique_ptr<dnstap::DnstapWriter> start_dnstap(const config::DnstapConfig& cfg,
                                                   unsigned workers) {
  const bool file = cfg.output == config::DnstapConfig::Output::kFile;
  dnstap::DnstapWriter::Options o;
  o.output = file ? dnstap::StreamOutput::Kind::kFile : dnstap::StreamOutput::Kind::kUnixSocket;
  o.path = cfg.path;
  o.identity = cfg.identity;
  o.version = cfg.version;
  o.client_queries = cfg.client_queries;
  o.client_responses = cfg.client_responses;
  o.workers = workers;
  std::string error;
  auto writer = dnstap::DnstapWriter::create(o, &error);
  if (!writer) {
    spdlog::error("dnstap: {}", error);
    return nullptr;
  }
  if (writer->connected())
    spdlog::info("dnstap: logging to {} {} as '{}'", file ? "file" : "collector socket", cfg.path,
                 cfg.identity);
  else
    spdlog::warn(
        "dnstap: no collector on {} yet; messages are dropped (dnstap_dropped) until "
        "one listens there (retried every second)",
        cfg.path);
  return writer;
}

}  // namespace sinkhole::observe
