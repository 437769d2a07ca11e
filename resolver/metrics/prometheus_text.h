// SPDX-License-Identifier: MIT
// PrometheusText: writes the Prometheus text exposition format (version 0.0.4): one
// HELP and TYPE line per family, then its samples with escaped label values. Off the hot
// path (the scrape thread); appends to one string.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sinkhole::metrics {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

// One metric family: name (with the sinkholed_ prefix), type and help. Every family the
// server exposes is declared once in catalogue.cc.
struct Family {
  const char* name;
  MetricType type;
  const char* help;
};

using Label = std::pair<std::string_view, std::string_view>;

class PrometheusText {
 public:
  void family(const Family& f);
  void sample(const Family& f, std::initializer_list<Label> labels, double value);
  void sample(const Family& f, double value) { sample(f, {}, value); }
  // Histogram samples: `name_bucket{le=…}`, `_sum`, `_count`; `cumulative` holds one count
  // per bound plus +Inf, already cumulative.
  void histogram(const Family& f, std::initializer_list<Label> labels, const double* bounds,
                 const uint64_t* cumulative, size_t n_bounds, double sum);
  const std::string& text() const { return out_; }

 private:
  void labels(std::initializer_list<Label> labels, std::string_view extra_name = {},
              std::string_view extra_value = {});
  void value(double v);
  std::string out_;
};

}  // namespace sinkhole::metrics
