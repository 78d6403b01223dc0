// RejectCounters: how many records the validators and the masker rejected, per
// target table and rule, for the metrics endpoint and the end-of-run summary.
// Thread-safe: add() from the pipeline, snapshot() from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sluice::validate {

class RejectCounters {
 public:
  struct Count {
    std::string table;
    std::string rule;
    uint64_t rejected = 0;
    bool operator==(const Count&) const = default;
  };

  void add(const std::string& table, const std::string& rule) {
    std::lock_guard lock(mutex_);
    ++counts_[{table, rule}];
  }

  // Every (table, rule) seen so far, sorted by table then rule.
  std::vector<Count> snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<Count> out;
    out.reserve(counts_.size());
    for (const auto& [key, n] : counts_) out.push_back(Count{key.first, key.second, n});
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_;
};

}  // namespace sluice::validate
