// SPDX-License-Identifier: MIT
// BlockStats: blocked queries by (policy, list, category, action), and monitored ones
// (a passthru action: answered normally, counted) by the same labels, counted per worker
// and kept across reloads.
//
// Lists and actions are numbered per policy snapshot, and a reload renumbers them, so a
// worker cannot count by index into a table the metrics thread reads by name. Instead this
// registry owns one Cell per label tuple, created by the snapshot builder (reload thread)
// and never freed; a snapshot keeps a pointer per (policy, list, action) it can produce
// (PolicySnapshot::cell_for), and a worker bumps its own padded slot in that cell: no lock,
// no allocation, no shared cache line on the hot path. Counts survive reloads (Prometheus
// counters must not go backwards) because the cell outlives the snapshots that point at
// it. It also owns the protected-user sketches, by category (protected_users.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "resolver/metrics/protected_users.h"

namespace sinkhole::metrics {

class BlockStats {
 public:
  class Cell {
   public:
    explicit Cell(size_t workers) : slots_(new Slot[workers]), n_(workers) {}
    // Worker `w` only.
    void inc(size_t w) noexcept {
      if (w >= n_) return;
      auto& v = slots_[w].value;
      v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    uint64_t total() const noexcept {
      uint64_t t = 0;
      for (size_t i = 0; i < n_; ++i) t += slots_[i].value.load(std::memory_order_relaxed);
      return t;
    }

   private:
    struct alignas(64) Slot {
      std::atomic<uint64_t> value{0};
    };
    std::unique_ptr<Slot[]> slots_;
    size_t n_;
  };

  struct Row {
    std::string policy, list, category, action;
    uint64_t count = 0;
  };

  explicit BlockStats(size_t workers) : workers_(workers) {}
  // With a fixed hash key for protected users (tests).
  BlockStats(size_t workers, ProtectedUsers::HashKey key) : workers_(workers), users_(key) {}
  BlockStats(const BlockStats&) = delete;
  BlockStats& operator=(const BlockStats&) = delete;

  // Reload/control thread: the cell of these labels (created on first use, stable address)
  // — blocked queries, or monitored ones (a passthru action).
  Cell* cell(std::string_view policy, std::string_view list, std::string_view category,
             std::string_view action);
  Cell* monitor_cell(std::string_view policy, std::string_view list, std::string_view category,
                     std::string_view action);
  // Any thread: every label tuple seen so far with its total, sorted by labels.
  std::vector<Row> rows() const;
  std::vector<Row> monitored_rows() const;
  size_t workers() const { return workers_; }

  // Protected users (distinct clients with a blocked query) are counted by category; a
  // category keeps the same id across reloads. Reload/control thread: the id of
  // `category`, its sketches allocated; nullopt past ProtectedUsers::kMaxCategories.
  std::optional<uint16_t> category_id(std::string_view category);
  // Any thread: every category with an id, in id order.
  std::vector<std::string> categories() const;
  ProtectedUsers& protected_users() { return users_; }
  const ProtectedUsers& protected_users() const { return users_; }

 private:
  struct Table {
    std::deque<Row> labels;
    std::deque<Cell> cells;  // cells[i] counts labels[i]
    absl::flat_hash_map<std::string, Cell*> by_key;
  };
  Cell* find_or_add(Table& t, std::string_view policy, std::string_view list,
                    std::string_view category, std::string_view action);
  std::vector<Row> rows_of(const Table& t) const;

  size_t workers_;
  mutable std::mutex mu_;  // creation and scrapes only; workers never take it
  Table blocked_;
  Table monitored_;
  std::vector<std::string> categories_;  // by protected-users id
  ProtectedUsers users_;
};

}  // namespace sinkhole::metrics
