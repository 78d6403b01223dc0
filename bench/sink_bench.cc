// PostgresSink apply throughput: 200k change events (60% creates, 30% updates,
// 10% deletes, 9 columns) in batches of 10k, then a plain COPY of the same
// final rows into an identical table, as the ceiling to compare with. Starts
// its own PostgreSQL server (tests/support). The seed is printed.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sinks/postgres/connection.h"
#include "sinks/postgres/copy_writer.h"
#include "sinks/postgres/postgres_sink.h"
#include "tests/support/test_services.h"

namespace {

using namespace sluice;

constexpr size_t kEvents = 200000;
constexpr size_t kBatchSize = 10000;
constexpr uint32_t kSeed = 20261123;
// Keys are spread over partitions as Kafka's key hashing would: a key always
// in the same partition, so apply lanes (split by partition) never share one.
constexpr int kPartitions = 8;

std::shared_ptr<const RowSchema> make_schema(std::vector<Column> columns) {
  auto s = std::make_shared<RowSchema>();
  s->columns = std::move(columns);
  return s;
}

Column column(std::string name, FieldType type) {
  Column c;
  c.name = std::move(name);
  c.type = type;
  if (type == FieldType::kDecimal) {
    c.precision = 12;
    c.scale = 2;
  }
  return c;
}

struct Workload {
  std::vector<Batch> batches;
  std::map<int64_t, std::vector<std::string>> final_rows;  // id -> values (without id)
  std::string url;
};

Workload& workload() {
  static Workload w = [] {
    Workload out;
    auto key = make_schema({column("id", FieldType::kInt64)});
    auto value = make_schema({column("id", FieldType::kInt64), column("name", FieldType::kString),
                              column("qty", FieldType::kInt32), column("price", FieldType::kDecimal),
                              column("created_at", FieldType::kTimestampTz), column("active", FieldType::kBoolean),
                              column("note", FieldType::kString), column("score", FieldType::kFloat64),
                              column("ref", FieldType::kUuid)});
    std::mt19937_64 random(kSeed);
    std::fprintf(stderr, "sink_bench seed %u\n", kSeed);
    std::vector<int64_t> live;
    int64_t next_id = 1;
    std::map<int, int64_t> next_offset;  // per partition
    Batch batch;
    std::map<int, int64_t> batch_next;   // the batch's next offset per partition
    for (size_t i = 0; i < kEvents; ++i) {
      uint64_t dice = random() % 10;
      BatchEntry e;
      e.event.table = TableName{"", "items"};
      int64_t id;
      if (dice < 6 || live.size() < 100) {
        e.event.op = Op::kCreate;
        id = next_id++;
        live.push_back(id);
      } else {
        size_t at = random() % live.size();
        id = live[at];
        if (dice < 9) {
          e.event.op = Op::kUpdate;
        } else {
          e.event.op = Op::kDelete;
          live[at] = live.back();
          live.pop_back();
        }
      }
      const int partition = static_cast<int>(id % kPartitions);
      const int64_t offset = next_offset[partition]++;
      e.event.origin = {"bench.items", Partition{partition}, Offset{offset}, 0};
      e.raw.topic = "bench.items";
      e.raw.partition = Partition{partition};
      e.raw.offset = Offset{offset};
      batch_next[partition] = offset + 1;
      e.event.key = Row{key, {Datum::of(std::to_string(id))}};
      if (e.event.op == Op::kDelete) {
        out.final_rows.erase(id);
      } else {
        char ref[40];
        std::snprintf(ref, sizeof ref, "%08x-0000-4000-8000-%012llx", static_cast<unsigned>(id),
                      static_cast<unsigned long long>(random() & 0xffffffffffffULL));
        uint64_t r = random();
        std::vector<std::string> values = {"customer " + std::to_string(r % 100000),
                                           std::to_string(r % 1000),
                                           std::to_string(r % 100000) + "." + std::to_string(10 + r % 90),
                                           "2026-11-23 11:" + std::to_string(10 + r % 50) + ":00.123456+00",
                                           (r & 1) ? "true" : "false",
                                           "note\twith tab " + std::to_string(i),
                                           std::to_string(static_cast<double>(r % 10000) / 7.0),
                                           ref};
        Row after{value, {Datum::of(std::to_string(id))}};
        for (const std::string& v : values) after.values.push_back(Datum::of(v));
        e.event.after = std::move(after);
        out.final_rows[id] = std::move(values);
      }
      batch.entries.push_back(std::move(e));
      if (batch.entries.size() == kBatchSize || i + 1 == kEvents) {
        for (const auto& [batch_partition, next] : batch_next) {
          batch.offsets.push_back({{"bench.items", Partition{batch_partition}}, Offset{next}});
        }
        out.batches.push_back(std::move(batch));
        batch = Batch{};
        batch_next.clear();
      }
    }
    return out;
  }();
  return w;
}

// Applies every batch (the timed part of the apply benchmarks); false, with
// the benchmark marked failed, when one fails.
bool apply_all(benchmark::State& state, pg::PostgresSink& sink, const std::vector<Batch>& batches) {
  for (const Batch& batch : batches) {
    auto stats = sink.apply(batch, [](std::span<const SinkReject>) { return Status{}; });
    if (!stats) {
      state.SkipWithError(stats.error().message.c_str());
      return false;
    }
  }
  return true;
}

void BM_PostgresSinkApply(benchmark::State& state) {
  Workload& w = workload();
  for (auto _ : state) {
    state.PauseTiming();
    w.url = testing::postgres().create_database(testing::unique_name("sink_bench"));
    // Argument: the stale-event guard off (0) or on (1, the default).
    SinkConfig config;
    config.stale_guard = state.range(0) != 0;
    auto sink = pg::PostgresSink::open({w.url, "", ""}, config, "bench");
    if (!sink) {
      state.SkipWithError(sink.error().message.c_str());
      return;
    }
    state.ResumeTiming();
    if (!apply_all(state, **sink, w.batches)) return;
  }
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(kEvents), benchmark::Counter::kIsRate);
  state.counters["final_rows"] = static_cast<double>(w.final_rows.size());
}

// The pipeline's apply stage with apply.connections = N (the argument): each
// batch split by partition among N sinks, each applying its parts on its own
// thread and connection, as the pipeline's lanes do.
void BM_PostgresSinkApplyLanes(benchmark::State& state) {
  Workload& w = workload();
  const auto lanes = static_cast<size_t>(state.range(0));
  std::vector<std::vector<Batch>> parts(lanes);
  for (const Batch& batch : w.batches) {
    std::vector<Batch> split(lanes);
    for (const BatchEntry& entry : batch.entries) split[entry.raw.partition.value % lanes].entries.push_back(entry);
    for (const PartitionOffset& offset : batch.offsets) {
      split[offset.partition.partition.value % lanes].offsets.push_back(offset);
    }
    for (size_t lane = 0; lane < lanes; ++lane) parts[lane].push_back(std::move(split[lane]));
  }
  for (auto _ : state) {
    state.PauseTiming();
    std::string url = testing::postgres().create_database(testing::unique_name("sink_bench_lanes"));
    std::vector<std::unique_ptr<pg::PostgresSink>> sinks;
    for (size_t lane = 0; lane < lanes; ++lane) {
      auto sink = pg::PostgresSink::open({url, "", ""}, SinkConfig{}, "bench");
      if (!sink) {
        state.SkipWithError(sink.error().message.c_str());
        return;
      }
      sinks.push_back(std::move(*sink));
    }
    state.ResumeTiming();
    std::vector<std::thread> threads;
    std::vector<std::string> errors(lanes);
    for (size_t lane = 0; lane < lanes; ++lane) {
      threads.emplace_back([&, lane] {
        for (const Batch& part : parts[lane]) {
          auto stats = sinks[lane]->apply(part, [](std::span<const SinkReject>) { return Status{}; });
          if (!stats) {
            errors[lane] = stats.error().message;
            return;
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (const std::string& error : errors) {
      if (!error.empty()) {
        state.SkipWithError(error.c_str());
        return;
      }
    }
  }
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(kEvents), benchmark::Counter::kIsRate);
}

void BM_PlainCopyOfFinalRows(benchmark::State& state) {
  Workload& w = workload();
  for (auto _ : state) {
    state.PauseTiming();
    auto connection = pg::Connection::open({w.url, "", ""});
    // The same table without the stale-event guard's column: the plain COPY
    // writes the rows only.
    if (!connection || !(*connection)->exec("CREATE TABLE copy_items (LIKE items INCLUDING ALL); "
                                            "ALTER TABLE copy_items DROP COLUMN IF EXISTS __sluice_position")) {
      state.SkipWithError("cannot create copy_items (run after BM_PostgresSinkApply)");
      return;
    }
    state.ResumeTiming();
    pg::CopyWriter writer;
    for (const auto& [id, values] : w.final_rows) {
      writer.text(std::to_string(id));
      for (const std::string& v : values) writer.text(v);
      writer.end_row();
    }
    if (!(*connection)->exec("BEGIN") || !(*connection)->copy_in("COPY copy_items FROM STDIN", writer.data()) ||
        !(*connection)->exec("COMMIT")) {
      state.SkipWithError("COPY failed");
      return;
    }
    state.PauseTiming();
    auto same = (*connection)->exec(
        "SELECT count(*) FROM (SELECT to_jsonb(i) - '__sluice_position' FROM items AS i "
        "EXCEPT SELECT to_jsonb(c) FROM copy_items AS c) AS d");
    if (!same || std::string_view(PQgetvalue(same->get(), 0, 0)) != "0") {
      state.SkipWithError("sink result differs from the plain COPY");
    }
    state.ResumeTiming();
  }
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(w.final_rows.size()), benchmark::Counter::kIsRate);
}

// The same events into a history table (0), a changelog table (1), and an
// upserted replica with a history table beside it (2).
void BM_PostgresSinkApplyHistory(benchmark::State& state) {
  Workload& w = workload();
  for (auto _ : state) {
    state.PauseTiming();
    std::string url = testing::postgres().create_database(testing::unique_name("sink_bench_history"));
    SinkConfig config;
    if (state.range(0) == 0) config.insert_mode = InsertMode::kHistory;
    if (state.range(0) == 1) config.insert_mode = InsertMode::kChangelog;
    if (state.range(0) == 2) config.history_table_name_format = "${topic}_history";
    auto sink = pg::PostgresSink::open({url, "", ""}, config, "bench");
    if (!sink) {
      state.SkipWithError(sink.error().message.c_str());
      return;
    }
    state.ResumeTiming();
    if (!apply_all(state, **sink, w.batches)) return;
  }
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(kEvents), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_PostgresSinkApply)
    ->ArgName("guard")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_PostgresSinkApplyLanes)
    ->ArgName("connections")
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_PlainCopyOfFinalRows)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PostgresSinkApplyHistory)
    ->ArgName("mode")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
