// Histogram: observations counted into fixed buckets chosen at construction
// (Prometheus `histogram`: cumulative `_bucket{le=...}`, `_sum`, `_count`).
// observe() is a bucket search over a few bounds plus two relaxed atomic adds:
// no lock, no allocation, safe from any thread. A snapshot taken while other
// threads observe may be off by the observations in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace sluice::metrics {

class Histogram {
 public:
  // `upper_bounds`: strictly increasing, finite; +Inf is implied.
  explicit Histogram(std::span<const double> upper_bounds);

  void observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;  // without +Inf
    std::vector<uint64_t> cumulative;  // one per bound, then one for +Inf (= count)
    double sum = 0;
    uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  Snapshot snapshot() const;

  // Bucket bounds used by sluice's histograms.
  static std::span<const double> seconds_buckets();    // 1 ms .. 5 min
  static std::span<const double> batch_size_buckets();  // 1 .. 100000 events

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative), last is +Inf
  std::atomic<double> sum_{0.0};
};

}  // namespace sluice::metrics
