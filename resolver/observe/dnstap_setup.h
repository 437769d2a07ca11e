// SPDX-License-Identifier: MIT
// start_dnstap: the `dnstap:` config section → a running DnstapWriter (resolver/dnstap),
// with what the operator needs in the log. Control thread, at start-up (before the
// workers exist: an unusable output stops the start).
#pragma once

#include <memory>

#include "resolver/config/dnstap_config.h"
#include "resolver/dnstap/dnstap_writer.h"

namespace sinkhole::observe {

// Null (error logged) when the output cannot be used: the daemon must not start then.
// A collector socket nobody listens on yet is fine: it is retried every second.
std::unique_ptr<dnstap::DnstapWriter> start_dnstap(const config::DnstapConfig& cfg,
                                                   unsigned workers);

}  // namespace sinkhole::observe
