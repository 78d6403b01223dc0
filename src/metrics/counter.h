// Counter and Gauge: the two scalar metric kinds of the Prometheus text format.
// Updates are single relaxed atomic operations, so they are cheap enough for
// the per-record path and safe from any thread; reads may lag updates made on
// other threads by a moment, which scrapes tolerate.
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice::metrics {

// Only ever goes up (Prometheus `counter`).
class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (Prometheus `gauge`).
class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace sluice::metrics
