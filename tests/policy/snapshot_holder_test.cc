// SPDX-License-Identifier: MIT
// SnapshotHolder and SnapshotView: publish moves the generation and the current snapshot; a
// view refreshes its reference only when the generation changed (and hands out the same object
// otherwise); a retired snapshot stays alive while a view still holds it and is released by
// collect() once no view does, so that the last reference is dropped on the control thread.
#include "policy/snapshot_holder.h"

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace {

using sinkhole::policy::PolicySnapshot;
using sinkhole::policy::SnapshotHolder;
using sinkhole::policy::SnapshotView;

std::shared_ptr<const PolicySnapshot> make(uint64_t generation) {
  auto s = std::make_shared<PolicySnapshot>();
  s->generation = generation;
  s->config_path = "gen-" + std::to_string(generation);
  return s;
}

TEST_CASE("publish sets current and generation") {
  SnapshotHolder h;
  CHECK(h.generation() == 0);
  CHECK(h.current() == nullptr);
  CHECK(h.collect() == 0);

  auto s1 = make(1);
  h.publish(s1);
  CHECK(h.generation() == 1);
  CHECK(h.current() == s1);
  CHECK(h.collect() == 0);  // nothing retired yet

  auto s2 = make(2);
  h.publish(s2);
  CHECK(h.generation() == 2);
  CHECK(h.current() == s2);
  CHECK(h.current()->config_path == "gen-2");
}

TEST_CASE("a view refreshes only when the generation changes") {
  SnapshotHolder h;
  auto s1 = make(1);
  h.publish(s1);
  SnapshotView view(h);
  const PolicySnapshot* first = &view.get();
  CHECK(first == s1.get());
  CHECK(&view.get() == first);  // same generation: same object, no refresh

  auto s2 = make(2);
  h.publish(s2);
  CHECK(&view.get() == s2.get());

  // A snapshot published with the generation the view has already seen is not picked up:
  // the view trusts the generation and does not look at the pointer.
  auto same_generation = make(2);
  h.publish(same_generation);
  CHECK(h.current() == same_generation);
  CHECK(&view.get() == s2.get());

  // A new generation is picked up, whatever its value relative to the old one.
  auto s7 = make(7);
  h.publish(s7);
  CHECK(&view.get() == s7.get());
  CHECK(view.get().config_path == "gen-7");
}

TEST_CASE("two views share the current snapshot and each holds one reference") {
  SnapshotHolder h;
  auto s1 = make(1);
  h.publish(s1);
  const long before = s1.use_count();  // the test and the holder
  CHECK(before == 2);
  SnapshotView a(h), b(h);
  CHECK(&a.get() == &b.get());
  CHECK(s1.use_count() == before + 2);
  a.get();  // no refresh, no new reference
  CHECK(s1.use_count() == before + 2);
}

TEST_CASE("retired snapshots live while a view holds them; collect releases them after") {
  SnapshotHolder h;
  std::weak_ptr<const PolicySnapshot> w1, w2;
  {
    auto s1 = make(1);
    w1 = s1;
    h.publish(std::move(s1));
  }
  SnapshotView worker(h);
  CHECK(worker.get().generation == 1);
  CHECK(w1.use_count() == 2);  // the holder's current and the view

  {
    auto s2 = make(2);
    w2 = s2;
    h.publish(std::move(s2));
  }
  // s1 is retired: the holder keeps it, and the worker has not looked yet.
  CHECK(w1.use_count() == 2);
  CHECK(h.collect() == 1);  // still held by the view: kept
  CHECK_FALSE(w1.expired());
  CHECK(w1.use_count() == 2);

  // The worker moves on; its reference to s1 is dropped, but not freed on its thread:
  // the holder's retired list still owns it.
  CHECK(worker.get().generation == 2);
  CHECK(w1.use_count() == 1);
  CHECK_FALSE(w1.expired());

  // The control thread frees it.
  CHECK(h.collect() == 0);
  CHECK(w1.expired());
  CHECK_FALSE(w2.expired());
  CHECK(w2.use_count() == 2);  // current and the view
}

TEST_CASE("collect keeps only the retired snapshots some view still holds") {
  SnapshotHolder h;
  std::vector<std::weak_ptr<const PolicySnapshot>> weak;
  auto publish = [&](uint64_t g) {
    auto s = make(g);
    weak.push_back(s);
    h.publish(std::move(s));
  };
  publish(1);
  SnapshotView slow(h);  // stays on generation 1
  CHECK(slow.get().generation == 1);
  publish(2);
  SnapshotView medium(h);  // stays on generation 2
  CHECK(medium.get().generation == 2);
  publish(3);
  publish(4);
  // Retired: 1 (slow), 2 (medium), 3 (nobody). Current: 4.
  CHECK(h.collect() == 2);
  CHECK_FALSE(weak[0].expired());
  CHECK_FALSE(weak[1].expired());
  CHECK(weak[2].expired());
  CHECK_FALSE(weak[3].expired());

  CHECK(medium.get().generation == 4);
  CHECK(h.collect() == 1);
  CHECK(weak[1].expired());
  CHECK_FALSE(weak[0].expired());

  CHECK(slow.get().generation == 4);
  CHECK(h.collect() == 0);
  CHECK(weak[0].expired());
  CHECK(weak[3].use_count() == 3);  // current and both views
}

TEST_CASE("workers see every publish without a lock on the hot path") {
  SnapshotHolder h;
  h.publish(make(1));
  constexpr uint64_t kLast = 200;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> violations{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 2; ++i) {
    workers.emplace_back([&] {
      SnapshotView view(h);
      uint64_t last = 0;
      while (!stop.load(std::memory_order_acquire)) {
        const uint64_t g = view.get().generation;
        if (g < last || g == 0 || g > kLast) violations.fetch_add(1);  // generations only grow
        last = g;
      }
      if (view.get().generation != kLast) violations.fetch_add(1);  // ends on the newest
    });
  }
  for (uint64_t g = 2; g <= kLast; ++g) {
    h.publish(make(g));
    if (g % 16 == 0) h.collect();
  }
  stop.store(true, std::memory_order_release);
  for (auto& t : workers) t.join();
  CHECK(violations.load() == 0);
  CHECK(h.generation() == kLast);
  CHECK(h.collect() == 0);  // the views are gone: everything retired is freed
}

}  // namespace
