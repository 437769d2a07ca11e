// SPDX-License-Identifier: MIT
#include "resolver/metrics/prometheus_text.h"

#include <fmt/format.h>

#include <cmath>

namespace sinkhole::metrics {

namespace {

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes backslash and newline; label values also escape the double quote.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

}  // namespace

void PrometheusText::family(const Family& f) {
  out_ += "# HELP ";
  out_ += f.name;
  out_ += ' ';
  append_escaped(out_, f.help, false);
  out_ += "\n# TYPE ";
  out_ += f.name;
  out_ += ' ';
  out_ += type_name(f.type);
  out_ += '\n';
}

void PrometheusText::labels(std::initializer_list<Label> labels, std::string_view extra_name,
                            std::string_view extra_value) {
  if (labels.size() == 0 && extra_name.empty()) return;
  out_ += '{';
  bool first = true;
  auto one = [&](std::string_view k, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    append_escaped(out_, v, true);
    out_ += '"';
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out_ += '}';
}

void PrometheusText::value(double v) {
  out_ += ' ';
  if (std::isinf(v))
    out_ += v > 0 ? "+Inf" : "-Inf";
  else if (std::isnan(v))
    out_ += "NaN";
  else if (v == std::floor(v) && std::fabs(v) < 1e15)
    out_ += fmt::format("{}", static_cast<int64_t>(v));
  else
    out_ += fmt::format("{}", v);
  out_ += '\n';
}

void PrometheusText::sample(const Family& f, std::initializer_list<Label> l, double v) {
  out_ += f.name;
  labels(l);
  value(v);
}

void PrometheusText::histogram(const Family& f, std::initializer_list<Label> l,
                               const double* bounds, const uint64_t* cumulative, size_t n_bounds,
                               double sum) {
  const std::string bucket = std::string(f.name) + "_bucket";
  for (size_t i = 0; i <= n_bounds; ++i) {
    out_ += bucket;
    labels(l, "le", i < n_bounds ? fmt::format("{}", bounds[i]) : "+Inf");
    value(static_cast<double>(cumulative[i]));
  }
  out_ += f.name;
  out_ += "_sum";
  labels(l);
  value(sum);
  out_ += f.name;
  out_ += "_count";
  labels(l);
  value(static_cast<double>(cumulative[n_bounds]));
}

}  // namespace sinkhole::metrics
