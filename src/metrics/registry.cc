#include "metrics/registry.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace sluice::metrics {
namespace {

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void append_labels(std::string& out, const Labels& labels, const std::pair<std::string, std::string>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return;
  out += '{';
  bool first = true;
  auto append = [&](const std::pair<std::string, std::string>& label) {
    if (!first) out += ',';
    first = false;
    out += label.first;
    out += "=\"";
    out += escape_label_value(label.second);
    out += '"';
  };
  for (const auto& label : labels) append(label);
  if (extra != nullptr) append(*extra);
  out += '}';
}

void append_sample(std::string& out, std::string_view name, const Labels& labels, double value,
                   const std::pair<std::string, std::string>* extra = nullptr) {
  out += name;
  append_labels(out, labels, extra);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, MetricType type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.type = type;
    it->second.help = std::string(help);
  } else if (it->second.type != type) {
    throw std::logic_error("metric " + std::string(name) + " registered as " + std::string(type_name(it->second.type)) +
                           " and as " + std::string(type_name(type)));
  }
  return it->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Series& series = family(name, help, MetricType::kCounter).series[labels];
  if (!series.counter) series.counter = std::make_unique<Counter>();
  return *series.counter;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Series& series = family(name, help, MetricType::kGauge).series[labels];
  if (!series.gauge) series.gauge = std::make_unique<Gauge>();
  return *series.gauge;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, std::span<const double> upper_bounds,
                               const Labels& labels) {
  std::lock_guard lock(mutex_);
  Series& series = family(name, help, MetricType::kHistogram).series[labels];
  if (!series.histogram) series.histogram = std::make_unique<Histogram>(upper_bounds);
  return *series.histogram;
}

void Registry::remove(std::string_view name, const Labels& labels) {
  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) it->second.series.erase(labels);
}

void Registry::add_collector(std::string_view name, std::string_view help, MetricType type,
                             std::function<std::vector<Sample>()> collect) {
  if (type == MetricType::kHistogram) throw std::logic_error("collectors produce counters or gauges");
  std::lock_guard lock(mutex_);
  family(name, help, type).collect = std::move(collect);
}

void Registry::remove_collector(std::string_view name) {
  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) it->second.collect = nullptr;
}

double Registry::value(std::string_view name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto series = it->second.series.find(labels);
  if (series == it->second.series.end()) return 0;
  if (series->second.counter) return static_cast<double>(series->second.counter->value());
  if (series->second.gauge) return series->second.gauge->value();
  return 0;
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    std::vector<Sample> collected;
    if (family.collect) collected = family.collect();
    if (family.series.empty() && collected.empty()) continue;
    out += "# HELP " + name + " " + escape_help(family.help) + "\n";
    out += "# TYPE " + name + " " + std::string(type_name(family.type)) + "\n";
    for (const auto& [labels, series] : family.series) {
      if (series.counter) {
        append_sample(out, name, labels, static_cast<double>(series.counter->value()));
      } else if (series.gauge) {
        append_sample(out, name, labels, series.gauge->value());
      } else if (series.histogram) {
        Histogram::Snapshot snapshot = series.histogram->snapshot();
        std::string bucket = name + "_bucket";
        for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
          std::pair<std::string, std::string> le{
              "le", i < snapshot.upper_bounds.size() ? format_value(snapshot.upper_bounds[i]) : "+Inf"};
          append_sample(out, bucket, labels, static_cast<double>(snapshot.cumulative[i]), &le);
        }
        append_sample(out, name + "_sum", labels, snapshot.sum);
        append_sample(out, name + "_count", labels, static_cast<double>(snapshot.count()));
      }
    }
    for (const Sample& sample : collected) append_sample(out, name, sample.labels, sample.value);
  }
  return out;
}

}  // namespace sluice::metrics
