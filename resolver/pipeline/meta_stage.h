// SPDX-License-Identifier: MIT
// The stages before policy, which answer from the query alone:
//   reject_malformed  a query that did not parse: FORMERR, NOTIMP or BADVERS, or a drop
//                     when even the header is unusable; each class has its own counter.
//   answer_meta       zone transfers (REFUSED, EDE 18), qtype 0, OPT and the meta types
//                     (FORMERR, never forwarded), CHAOS TXT version/identity, other
//                     classes (REFUSED), and ANY (RFC 8482 HINFO).
// Both write into `out` (kMaxMessage bytes). Worker thread only.
#pragma once

#include <cstdint>

#include "resolver/config/config.h"
#include "resolver/dns/answer_builder.h"
#include "resolver/dns/query_view.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/pipeline/step.h"

namespace sinkhole::pipeline {

// `q` did not parse (q.ok() is false); `cq` was filled from it.
Step reject_malformed(const dns::QueryView& q, dns::ClientQuery cq,
                      metrics::WorkerCounters& counters, uint8_t* out);

Step answer_meta(const dns::QueryView& q, const dns::ClientQuery& cq,
                 const config::ServerConfig& server, metrics::WorkerCounters& counters,
                 uint8_t* out);

}  // namespace sinkhole::pipeline
