// SPDX-License-Identifier: MIT
// PolicyStage: the pipeline's view of the policy snapshot in service — classify the client
// (its group), decide a name for it (policy/snapshot.h), and find a blocked name inside an
// answer's CNAME/DNAME chain. Keeps this worker's reference to the snapshot and its
// Hyperscan scratch, refreshed only when a reload published a new generation (one atomic
// load per query otherwise). Worker thread only.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "blocklist/pattern_set.h"
#include "policy/snapshot_holder.h"
#include "resolver/dns/message_view.h"

namespace sinkhole::pipeline {

struct PolicyDecision {
  enum class Kind : uint8_t {
    kAllow,         // no policy applies, or its rules allow the name
    kRefuseClient,  // the client is in no policy and there is no default: REFUSED
    kMonitor,       // a `passthru` rule matched: count and log, then answer as allowed
    kBlock,         // `verdict` names the list, rule and action
  };
  Kind kind = Kind::kAllow;
  policy::Verdict verdict;
};

class PolicyStage {
 public:
  explicit PolicyStage(const policy::SnapshotHolder& holder) : view_(holder) {}

  // Which worker this is: its slot in the staged-version tallies (policy/staged_tally.h).
  void set_worker_index(unsigned index) { worker_ = index; }

  // The snapshot in service; valid until the next call.
  const policy::PolicySnapshot& snapshot();

  // `answer_known`: false at query time, where a QNAME verdict that an earlier list's rpz-ip
  // rules could still override (RPZ precedence, policy/snapshot.h) is deferred: kAllow, the
  // query is forwarded and decide_answer() applies whichever wins. True once no answer will
  // come (every upstream failed): the name's verdict as it is.
  PolicyDecision decide(const policy::PolicySnapshot& snap, const sockaddr* client,
                        const uint8_t* qname, size_t qname_len, bool answer_known = false);

  // The respond stage's RPZ decision on an answer (`qname`: the client's question): the
  // rpz-ip rules of the client's policy over the A/AAAA records of `resp`, and the name's
  // verdict deferred at query time. kAllow when the answer stands. Costs one flag test for
  // a snapshot without rpz-ip rules.
  PolicyDecision decide_answer(const policy::PolicySnapshot& snap, const sockaddr* client,
                               const uint8_t* qname, size_t qname_len, const uint8_t* resp,
                               const dns::MessageView& m);

  // The verdict of the first CNAME/DNAME target in the answer section of `resp` that the
  // client's policy blocks; nullopt when none is (or no policy applies to the client).
  std::optional<policy::Verdict> blocked_in_chain(const policy::PolicySnapshot& snap,
                                                  const sockaddr* client, const uint8_t* resp,
                                                  const dns::MessageView& m);

 private:
  // A staged list version (sinkholectl list stage) never changes the answer: for each
  // block rule of the client's policy whose list has one, and that did not decide this
  // query, count the query when the staged version would block the name and the version
  // serving does not. Only snapshots with a staged list pay for it.
  void tally_staged(const policy::PolicySnapshot& snap, int32_t p, const sockaddr* client,
                    const uint8_t* qname, size_t qname_len, const policy::Verdict& v);

  policy::SnapshotView view_;
  unsigned worker_ = 0;
  uint64_t scratch_generation_ = 0;
  blocklist::PatternScratch scratch_;  // Hyperscan scratch of this worker
};

}  // namespace sinkhole::pipeline
