// The naive baseline of the end-to-end benchmark: what a hand-written consumer
// does — librdkafka, RapidJSON and libpq, one prepared INSERT ... ON CONFLICT
// DO UPDATE (or DELETE) per event, COMMIT and an asynchronous Kafka offset
// commit every `commit_every` events. It knows the workload's `orders` columns
// and skips records it cannot parse. Not exactly-once; for comparison only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace sluice::bench {

struct NaiveOptions {
  std::string bootstrap;
  std::string topic;
  std::map<int32_t, int64_t> end_offsets;
  std::string database_url;
  std::string table;           // created beforehand with the columns of `orders`
  bool with_schema = true;     // the JsonConverter form of the records
  size_t commit_every = 1000;  // events per transaction
  std::chrono::milliseconds time_limit{30'000};  // stop after this long even if not drained
};

struct NaiveResult {
  uint64_t records = 0;  // consumed, skipped ones included
  uint64_t statements = 0;
  double seconds = 0;
  bool drained = false;  // every partition read to its end offset
};

// Throws std::runtime_error on a Kafka or PostgreSQL failure.
NaiveResult run_naive_consumer(const NaiveOptions& options);

}  // namespace sluice::bench
