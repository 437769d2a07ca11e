// SPDX-License-Identifier: MIT
#include "resolver/metrics/prometheus_text.h"

#include <doctest/doctest.h>

#include <string>

namespace sm = sinkhole::metrics;

TEST_CASE("PrometheusText: HELP and TYPE once, samples with escaped labels") {
  const sm::Family f{"sinkholed_x_total", sm::MetricType::kCounter, "Help with \\ and\nnewline"};
  sm::PrometheusText out;
  out.family(f);
  out.sample(f, {{"list", "a\"b\\c\nd"}, {"category", "gambling"}}, 42);
  out.sample(f, 7.5);
  CHECK(out.text() ==
        "# HELP sinkholed_x_total Help with \\\\ and\\nnewline\n"
        "# TYPE sinkholed_x_total counter\n"
        "sinkholed_x_total{list=\"a\\\"b\\\\c\\nd\",category=\"gambling\"} 42\n"
        "sinkholed_x_total 7.5\n");
}

TEST_CASE("PrometheusText: a histogram has cumulative buckets, +Inf, sum and count") {
  const sm::Family f{"sinkholed_lat_seconds", sm::MetricType::kHistogram, "Latency"};
  const double bounds[] = {0.001, 0.01};
  const uint64_t cumulative[] = {1, 3, 4};
  sm::PrometheusText out;
  out.family(f);
  out.histogram(f, {{"upstream", "127.0.0.1:53"}}, bounds, cumulative, 2, 0.25);
  CHECK(out.text() ==
        "# HELP sinkholed_lat_seconds Latency\n"
        "# TYPE sinkholed_lat_seconds histogram\n"
        "sinkholed_lat_seconds_bucket{upstream=\"127.0.0.1:53\",le=\"0.001\"} 1\n"
        "sinkholed_lat_seconds_bucket{upstream=\"127.0.0.1:53\",le=\"0.01\"} 3\n"
        "sinkholed_lat_seconds_bucket{upstream=\"127.0.0.1:53\",le=\"+Inf\"} 4\n"
        "sinkholed_lat_seconds_sum{upstream=\"127.0.0.1:53\"} 0.25\n"
        "sinkholed_lat_seconds_count{upstream=\"127.0.0.1:53\"} 4\n");
}
