// Registry: every metric sluice exports, by name and labels, and their
// rendering in the Prometheus text exposition format (version 0.0.4).
//
// counter(), gauge() and histogram() create a series on first use and return
// the same object afterwards; the reference stays valid until remove() of that
// series or the registry's destruction. Looking a series up takes a mutex and
// builds its label set, so hot paths look up once and keep the reference.
// Collectors produce samples at render time from state kept elsewhere (for
// example the validators' reject counts). All members are thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/counter.h"
#include "metrics/histogram.h"

namespace sluice::metrics {

// Label names and values, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

struct Sample {
  Labels labels;
  double value = 0;
};

class Registry {
 public:
  // Throws std::logic_error when `name` is already registered with another type:
  // a programming error, found by the first test that touches the metric.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // `upper_bounds` of the family's first series apply to every series of it.
  Histogram& histogram(std::string_view name, std::string_view help, std::span<const double> upper_bounds,
                       const Labels& labels = {});

  // Drops one series (a revoked partition's lag); references to it dangle.
  void remove(std::string_view name, const Labels& labels);

  // `collect` is called at every render(), from the rendering thread, and
  // returns the family's current samples (counter or gauge).
  void add_collector(std::string_view name, std::string_view help, MetricType type,
                     std::function<std::vector<Sample>()> collect);

  // Drops the collector of `name`; waits for a render that is calling it.
  void remove_collector(std::string_view name);

  // The value of a counter or gauge series; 0 when the series does not exist.
  double value(std::string_view name, const Labels& labels = {}) const;

  // Every family, sorted by name; series in label order.
  std::string render() const;

 private:
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    MetricType type = MetricType::kCounter;
    std::string help;
    std::map<Labels, Series> series;
    std::function<std::vector<Sample>()> collect;
  };

  Family& family(std::string_view name, std::string_view help, MetricType type);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

// The text format's escaping: label values escape backslash, double quote and
// newline; help text escapes backslash and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value as the text format writes it ("1", "0.25", "+Inf", "NaN").
std::string format_value(double value);

}  // namespace sluice::metrics
