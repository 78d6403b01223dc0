// bench_e2e: the end-to-end benchmark. Starts a throwaway PostgreSQL and the
// dev broker (tests/support), produces a generated Debezium workload into a
// topic with enough partitions, and in the same run measures
//   - the Kafka-side limit: a plain librdkafka consumer draining the topic,
//   - sluice: `sluice run --until-caught-up` (events/s, MB/s, peak RSS),
//   - the write-side limit: one COPY of the expected final rows,
//   - the naive baseline: one INSERT ... ON CONFLICT per event,
// and checks every run that sluice's table equals the expected final state and
// that the stored offsets equal the end offsets. Exit code 0 only when correct.
// Latency mode (--latency RATE SECONDS) produces at a fixed rate while sluice
// runs and reports commit time − produce time per row (see bench/RESULTS.md).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu_budget.h"
#include "debezium_workload.h"
#include "kafka_drain.h"
#include "naive_consumer.h"
#include "tests/support/test_services.h"
#include "workload_producer.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace testing = sluice::testing;
namespace workload = sluice::workload;

const char* kUsage = R"(usage: bench_e2e [options]
  --events N            records in all (default 200000; latency mode: RATE x SECONDS)
  --schemaless          JsonConverter without schemas (default: with schemas)
  --note-bytes N        width of the note column (default 40)
  --invalid F           share of malformed records (default 0.02)
  --seed N              workload seed (default 1)
  --partitions N        topic partitions (default: enough for the dev broker, at least 64)
  --latency RATE SECS   latency mode: produce RATE events/s for SECS seconds while sluice runs
  --naive-seconds S     time limit of the naive baseline (default 30; 0 skips it)
  --no-limits           skip the Kafka drain and the COPY limit
  --set KEY=VALUE       extra sluice configuration (repeatable)
  --log FILE            sluice's log (default /tmp/bench_e2e_sluice.log)
  --pg-set KEY=VALUE    ALTER SYSTEM SET on the benchmark's PostgreSQL (e.g. log_min_duration_statement=0)
  --wrap "CMD ARGS"     run sluice under CMD (perf record ... --, heaptrack); RSS is then CMD's
)";

constexpr double kMaxBytesPerPartition = 3'500'000;  // the dev broker keeps about 5 MB per partition
constexpr size_t kWarmupRecords = 200;

struct Options {
  uint64_t events = 200'000;
  bool schemaless = false;
  size_t note_bytes = 40;
  double invalid = 0.02;
  uint64_t seed = 1;
  int partitions = 0;
  double latency_rate = 0;
  double latency_seconds = 0;
  double naive_seconds = 30;
  bool limits = true;
  std::vector<std::string> sets;
  std::string log_path = "/tmp/bench_e2e_sluice.log";
  std::string wrap;
  std::vector<std::string> pg_sets;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A sluice process whose peak RSS is read from wait4() when it exits.
class MeasuredSluice {
 public:
  // `wrap`: a command line to run sluice under (a profiler), split at spaces.
  MeasuredSluice(const std::vector<std::string>& arguments, const std::string& log_path, const std::string& wrap = "")
      : log_path_(log_path) {
    std::string binary = testing::executable_path("sluice");
    std::vector<std::string> storage = arguments;
    storage.insert(storage.begin(), binary);
    std::istringstream words(wrap);
    std::vector<std::string> prefix{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
    if (!prefix.empty()) {
      storage.insert(storage.begin(), prefix.begin(), prefix.end());
      binary = prefix.front();
    }
    std::vector<char*> argv;
    for (auto& argument : storage) argv.push_back(argument.data());
    argv.push_back(nullptr);
    // Until exec the child shares this process's pages (the whole workload):
    // wait for the exec, seen as the close-on-exec pipe closing, before
    // sampling its memory.
    int exec_pipe[2];
    if (::pipe2(exec_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    started_ = Clock::now();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::close(exec_pipe[0]);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execvp(binary.c_str(), argv.data());
      std::_Exit(127);
    }
    ::close(exec_pipe[1]);
    char byte;
    while (::read(exec_pipe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    ::close(exec_pipe[0]);
  }
  ~MeasuredSluice() {
    if (!exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Waits for the exit, sampling the peak RSS, and `budget` every 100 ms.
  std::optional<int> wait(std::chrono::seconds timeout, sluice::bench::CpuBudget* budget = nullptr) {
    auto deadline = Clock::now() + timeout;
    for (int round = 0; !exit_code_ && Clock::now() < deadline; ++round) {
      if (budget != nullptr && round % 20 == 0) budget->sample();
      int status = 0;
      rusage usage{};
      pid_t done = ::wait4(pid_, &status, WNOHANG, &usage);
      if (done == pid_) {
        ended_ = Clock::now();
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        cpu_seconds_ = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
        if (budget != nullptr) budget->sample();
        break;
      }
      peak_rss_kb_ = std::max(peak_rss_kb_, high_water_kb());
      std::this_thread::sleep_for(5ms);
    }
    return exit_code_;
  }
  void send_signal(int signal) const {
    if (!exit_code_) ::kill(pid_, signal);
  }
  std::string log() const {
    std::ifstream in(log_path_, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }
  double wall_seconds() const { return std::chrono::duration<double>(ended_ - started_).count(); }
  // From the log line of the first assignment (the group join done) to the
  // pipeline's closing line, by the log's millisecond timestamps (the log is
  // only flushed at exit); nullopt when either is missing.
  std::optional<std::pair<std::chrono::system_clock::time_point, std::chrono::system_clock::time_point>>
  consuming_window() const {
    std::string text = log();
    auto stamp_of = [&](size_t at) -> std::optional<std::chrono::system_clock::time_point> {
      size_t line = text.rfind('\n', at);
      line = line == std::string::npos ? 0 : line + 1;
      std::tm local{};
      int millis = 0;
      // "2026-12-02 01:40:46.082 info  [kafka] ...", in local time
      if (std::sscanf(text.c_str() + line, "%d-%d-%d %d:%d:%d.%d", &local.tm_year, &local.tm_mon, &local.tm_mday,
                      &local.tm_hour, &local.tm_min, &local.tm_sec, &millis) != 7) {
        return std::nullopt;
      }
      local.tm_year -= 1900;
      local.tm_mon -= 1;
      local.tm_isdst = -1;
      return std::chrono::system_clock::from_time_t(std::mktime(&local)) + std::chrono::milliseconds(millis);
    };
    size_t assigned = text.find("] assigned ");
    size_t closed = text.rfind("caught up: consumed ");
    if (assigned == std::string::npos || closed == std::string::npos) return std::nullopt;
    auto from = stamp_of(assigned), to = stamp_of(closed);
    if (!from || !to) return std::nullopt;
    return std::make_pair(*from, *to);
  }
  // The consuming window's length; the process wall time when it is unknown.
  double consuming_seconds() const {
    auto window = consuming_window();
    if (!window) return wall_seconds();
    return std::chrono::duration<double>(window->second - window->first).count();
  }
  pid_t pid() const { return pid_; }
  // VmHWM of the process, sampled every 5 ms until it exits. (wait4's
  // ru_maxrss would count the forking parent's pages too.)
  long peak_rss_kb() const { return peak_rss_kb_; }
  double cpu_seconds() const { return cpu_seconds_; }

 private:
  long high_water_kb() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    }
    return 0;
  }

  std::string log_path_;
  pid_t pid_ = -1;
  Clock::time_point started_, ended_;
  std::optional<int> exit_code_;
  long peak_rss_kb_ = 0;
  double cpu_seconds_ = 0;
};

std::string column_list(const std::vector<std::string>& columns) {
  std::string out;
  for (const auto& column : columns) out += (out.empty() ? "" : ", ") + column;
  return out;
}

// Rows differing between `table` and the expected final state (both ways),
// over `columns`.
int64_t rows_differing(const std::string& url, const std::string& table, const workload::DebeziumWorkload& load,
                       const std::vector<std::string>& columns) {
  testing::query(url, "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS expected_orders (LIKE orders); "
                      "TRUNCATE expected_orders");
  testing::copy_in(url, "COPY expected_orders (" + column_list(workload::DebeziumWorkload::column_names()) +
                            ") FROM STDIN",
                   load.expected_copy_text());
  std::string list = column_list(columns);
  auto count = testing::query_value(url, "SELECT count(*) FROM ((SELECT " + list + " FROM " + table +
                                             " EXCEPT ALL SELECT " + list + " FROM expected_orders) UNION ALL (SELECT " +
                                             list + " FROM expected_orders EXCEPT ALL SELECT " + list + " FROM " +
                                             table + ")) AS d");
  return std::stoll(count.value());
}

int64_t stored_offsets_sum(const std::string& url, const std::string& topic) {
  auto value = testing::query_value(
      url, "SELECT coalesce(sum(next_offset), 0) FROM sluice_offsets WHERE topic = '" + topic + "'");
  return std::stoll(value.value_or("0"));
}

std::string summary_line(const std::string& log) {
  // The pipeline's closing line: "...: consumed N, applied N, skipped N, rejected N (...), N batches".
  size_t at = log.rfind("consumed ");
  if (at == std::string::npos) return "(no summary in the log)";
  size_t end = log.find('\n', at);
  return log.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string write_config(const Options& options, const std::string& name, const std::string& topic,
                         const std::string& url) {
  std::string path = "/tmp/" + name + ".properties";
  std::ofstream config(path);
  config << testing::sluice_properties(topic, name + "_group", url, name + "_dlq");
  for (const auto& set : options.sets) {
    auto eq = set.find('=');
    if (eq == std::string::npos) throw std::runtime_error("--set wants KEY=VALUE");
    config << set.substr(0, eq) << " = " << set.substr(eq + 1) << "\n";
  }
  return path;
}

int partitions_for(const Options& options, const workload::WorkloadSpec& spec) {
  if (options.partitions > 0) return options.partitions;
  workload::WorkloadSpec probe = spec;
  probe.events = std::min<uint64_t>(spec.events, 2000);
  double per_event = static_cast<double>(workload::DebeziumWorkload::generate(probe).payload_bytes()) /
                     static_cast<double>(std::max<uint64_t>(probe.events, 1));
  return std::max(64, static_cast<int>(per_event * static_cast<double>(spec.events) / kMaxBytesPerPartition) + 1);
}

void print_row(const std::string& what, uint64_t events, uint64_t bytes, double seconds, const std::string& extra = "") {
  std::printf("%-34s %10llu ev %9.2f s %11.0f ev/s %8.1f MB/s %s\n", what.c_str(),
              static_cast<unsigned long long>(events), seconds, static_cast<double>(events) / seconds,
              static_cast<double>(bytes) / 1e6 / seconds, extra.c_str());
}

int throughput_run(const Options& options) {
  workload::WorkloadSpec spec;
  spec.events = options.events;
  spec.with_schema = !options.schemaless;
  spec.note_bytes = options.note_bytes;
  spec.invalid = options.invalid;
  spec.seed = options.seed;
  spec.partitions = partitions_for(options, spec);

  auto started = Clock::now();
  auto load = workload::DebeziumWorkload::generate(spec);
  const auto& records = load.records();
  std::printf("workload: %zu records, %.1f MB (%.0f B/record), %s, seed %llu; %llu c, %llu u, %llu d, %llu tombstones, "
              "%llu malformed; %zu rows expected; generated in %.1f s\n",
              records.size(), static_cast<double>(load.payload_bytes()) / 1e6,
              static_cast<double>(load.payload_bytes()) / static_cast<double>(records.size()),
              spec.with_schema ? "schema-carrying" : "schemaless", static_cast<unsigned long long>(spec.seed),
              static_cast<unsigned long long>(load.count('c')), static_cast<unsigned long long>(load.count('u')),
              static_cast<unsigned long long>(load.count('d')), static_cast<unsigned long long>(load.count('t')),
              static_cast<unsigned long long>(load.invalid_records()), load.expected_rows(), seconds_since(started));

  std::string name = testing::unique_name("bench_e2e");
  std::string topic = name + "_orders";
  testing::dev_broker().create_topic(topic, spec.partitions);
  testing::dev_broker().create_topic(name + "_dlq", 16);
  started = Clock::now();
  auto coordinates = workload::produce(load, {testing::dev_broker().bootstrap_servers(), topic, {}, 0, SIZE_MAX});
  double produce_seconds = seconds_since(started);
  std::map<int32_t, int64_t> end_offsets;
  for (int32_t partition = 0; partition < spec.partitions; ++partition) end_offsets[partition] = 0;
  for (const auto& [partition, offset] : coordinates) {
    end_offsets[partition] = std::max(end_offsets[partition], offset + 1);
  }
  std::printf("produced into %s (%d partitions) in %.1f s\n\n", topic.c_str(), spec.partitions, produce_seconds);

  std::optional<sluice::bench::DrainResult> drain;
  if (options.limits) {
    sluice::bench::CpuBudget budget(::getpid(), sluice::bench::postmaster_pid(testing::postgres().data_dir()),
                                    testing::dev_broker().pid());
    budget.sample();
    auto drain_started = std::chrono::system_clock::now();
    drain = sluice::bench::drain_topic(testing::dev_broker().bootstrap_servers(), topic, end_offsets, 600s);
    budget.sample();
    print_row("kafka drain (plain consumer)", drain->records, drain->bytes, drain->seconds);
    if (auto usage = budget.between(drain_started, std::chrono::system_clock::now())) {
      std::printf("%-34s %s\n", "", sluice::bench::describe(*usage, "the consumer").c_str());
    }
  }

  std::string url = testing::postgres().create_database(name);
  std::string config = write_config(options, name, topic, url);
  MeasuredSluice sluice({"run", "--config", config, "--until-caught-up"}, options.log_path, options.wrap);
  sluice::bench::CpuBudget budget(sluice.pid(), sluice::bench::postmaster_pid(testing::postgres().data_dir()),
                                  testing::dev_broker().pid());
  auto code = sluice.wait(1800s, &budget);
  if (code != 0) {
    std::cerr << "sluice exited with " << (code ? std::to_string(*code) : "nothing (timeout)") << "; log "
              << options.log_path << ":\n"
              << sluice.log();
    return 1;
  }
  char extra[160];
  std::snprintf(extra, sizeof extra, "peak RSS %.1f MB, CPU %.1f s; process wall %.2f s", sluice.peak_rss_kb() / 1024.0,
                sluice.cpu_seconds(), sluice.wall_seconds());
  print_row("sluice run --until-caught-up", records.size(), load.payload_bytes(), sluice.consuming_seconds(), extra);
  if (auto window = sluice.consuming_window()) {
    if (auto usage = budget.between(window->first, window->second)) {
      std::printf("%-34s %s\n", "", sluice::bench::describe(*usage, "sluice").c_str());
    }
  }

  int64_t differing = rows_differing(url, "orders", load, workload::DebeziumWorkload::column_names());
  int64_t stored = stored_offsets_sum(url, topic);
  int64_t expected_offsets = static_cast<int64_t>(records.size());
  bool correct = differing == 0 && stored == expected_offsets;

  if (options.limits) {
    testing::query(url, "CREATE TABLE copy_orders (LIKE orders INCLUDING ALL)");
    auto copy_started = Clock::now();
    testing::copy_in(url, "COPY copy_orders (" + column_list(workload::DebeziumWorkload::column_names()) + ") FROM STDIN",
                     load.expected_copy_text());
    double copy_seconds = seconds_since(copy_started);
    print_row("COPY of the final rows (rows)", load.expected_rows(), load.expected_copy_text().size(), copy_seconds);
    std::printf("%-34s %10s    %9.2f s %11.0f ev/s (events of the workload per second of that COPY)\n", "", "",
                copy_seconds, static_cast<double>(records.size()) / copy_seconds);
  }

  if (options.naive_seconds > 0) {
    testing::query(url, "CREATE TABLE naive_orders (LIKE orders INCLUDING ALL)");
    sluice::bench::NaiveOptions naive{testing::dev_broker().bootstrap_servers(),
                                      topic,
                                      end_offsets,
                                      url,
                                      "naive_orders",
                                      spec.with_schema,
                                      1000,
                                      std::chrono::milliseconds(static_cast<int64_t>(options.naive_seconds * 1000))};
    auto result = sluice::bench::run_naive_consumer(naive);
    std::string note = result.drained ? "drained; table " +
                                            std::string(rows_differing(url, "naive_orders", load,
                                                                       workload::DebeziumWorkload::column_names()) == 0
                                                            ? "equals"
                                                            : "DIFFERS FROM")
                                            + " the expected state"
                                      : "stopped after the time limit";
    print_row("naive INSERT..ON CONFLICT/event", result.records, 0, result.seconds, "(commit per 1000; " + note + ")");
  }

  std::printf("\nsluice: %s\n", summary_line(sluice.log()).c_str());
  if (drain) {
    std::printf("sluice / kafka drain: %.2f\n", drain->seconds / sluice.consuming_seconds());
  }
  std::printf("correctness: %s (%lld rows differ from the expected %zu; stored offsets %lld of %lld)\n",
              correct ? "OK" : "FAILED", static_cast<long long>(differing), load.expected_rows(),
              static_cast<long long>(stored), static_cast<long long>(expected_offsets));
  std::remove(config.c_str());
  return correct ? 0 : 1;
}

int latency_run(const Options& options) {
  // Commit timestamps of the row versions: exact, taken by PostgreSQL itself
  // when each transaction commits, without triggers or changes to sluice.
  const std::string admin = testing::postgres().url();
  testing::query(admin, "ALTER SYSTEM SET track_commit_timestamp = on");
  testing::postgres().stop("fast");
  testing::postgres().start();
  if (testing::query_value(admin, "SHOW track_commit_timestamp") != "on") {
    throw std::runtime_error("track_commit_timestamp did not turn on");
  }

  workload::WorkloadSpec spec;
  spec.events = kWarmupRecords + static_cast<uint64_t>(options.latency_rate * options.latency_seconds);
  spec.with_schema = !options.schemaless;
  spec.note_bytes = options.note_bytes;
  spec.invalid = options.invalid;
  spec.seed = options.seed;
  spec.stamp_created_at = true;
  spec.partitions = options.partitions > 0 ? options.partitions : 64;
  auto load = workload::DebeziumWorkload::generate(spec);
  std::printf("workload: %zu records, %.1f MB (%.0f B/record), %s; %zu rows expected\n", load.records().size(),
              static_cast<double>(load.payload_bytes()) / 1e6,
              static_cast<double>(load.payload_bytes()) / static_cast<double>(load.records().size()),
              spec.with_schema ? "schema-carrying" : "schemaless", load.expected_rows());

  std::string name = testing::unique_name("bench_lat");
  std::string topic = name + "_orders";
  testing::dev_broker().create_topic(topic, spec.partitions);
  testing::dev_broker().create_topic(name + "_dlq", 16);
  std::string url = testing::postgres().create_database(name);
  // The dev broker answers a fetch that finds no data only after
  // fetch.wait.max.ms (500 ms by default), even when records arrive meanwhile;
  // a Kafka broker answers as soon as fetch.min.bytes (1) is there. 10 ms
  // stands in for that (--set kafka.fetch.wait.max.ms=... overrides it).
  Options tuned = options;
  tuned.sets.insert(tuned.sets.begin(), "kafka.fetch.wait.max.ms=10");
  std::string config = write_config(tuned, name, topic, url);
  MeasuredSluice sluice({"run", "--config", config}, options.log_path, options.wrap);

  // Warm up: sluice joins the group and creates the table.
  std::map<std::string, std::string> fast = {{"linger.ms", "1"}};
  workload::produce(load, {testing::dev_broker().bootstrap_servers(), topic, fast, 0, kWarmupRecords, 0, true});
  auto wait_committed = [&](int64_t target, std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      try {
        if (stored_offsets_sum(url, topic) >= target) return true;
      } catch (const std::exception&) {
        // The offsets table does not exist before the first commit.
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };
  if (!wait_committed(kWarmupRecords, 120s)) {
    std::cerr << "warm-up records not committed; log:\n" << sluice.log();
    return 1;
  }
  int64_t paced_from_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto started = Clock::now();
  workload::produce(load, {testing::dev_broker().bootstrap_servers(), topic, fast, kWarmupRecords, SIZE_MAX,
                           options.latency_rate, true});
  double produce_seconds = seconds_since(started);
  size_t paced = load.records().size() - kWarmupRecords;
  bool caught_up = wait_committed(static_cast<int64_t>(load.records().size()), 300s);
  double drain_seconds = seconds_since(started) - produce_seconds;
  sluice.send_signal(SIGTERM);
  auto code = sluice.wait(60s);
  if (!caught_up || code != 0) {
    std::cerr << "sluice did not catch up or failed (exit " << (code ? std::to_string(*code) : "none") << "); log:\n"
              << sluice.log();
    return 1;
  }

  // Latency of each row version written by the paced phase: the commit time of
  // the transaction that wrote it minus the produce time stamped into it.
  std::string produce_us = spec.with_schema ? "(extract(epoch FROM created_at) * 1000000)" : "created_at::float8";
  auto rows = testing::query(
      url, "WITH l AS (SELECT (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000 - " + produce_us +
               ") / 1000.0 AS ms FROM orders WHERE " + produce_us + " >= " + std::to_string(paced_from_us) +
               ") SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1), "
               "round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(max(ms)::numeric, 1), "
               "round(min(ms)::numeric, 1) FROM l");
  std::vector<std::string> columns;
  for (const auto& column : workload::DebeziumWorkload::column_names()) {
    if (column != "created_at") columns.push_back(column);
  }
  int64_t differing = rows_differing(url, "orders", load, columns);
  int64_t stored = stored_offsets_sum(url, topic);
  bool correct = differing == 0 && stored == static_cast<int64_t>(load.records().size());

  const auto& r = rows.at(0);
  std::printf("offered %.0f events/s for %.1f s: produced %zu in %.2f s (%.0f events/s); caught up %.2f s after the "
              "last produce\n",
              options.latency_rate, options.latency_seconds, paced, produce_seconds,
              static_cast<double>(paced) / produce_seconds, drain_seconds);
  std::printf("latency (commit − produce) over %s row versions: p50 %s ms, p99 %s ms, max %s ms (min %s ms)\n",
              r[0].value_or("?").c_str(), r[1].value_or("?").c_str(), r[2].value_or("?").c_str(),
              r[3].value_or("?").c_str(), r[4].value_or("?").c_str());
  std::printf("sluice peak RSS %.1f MB, CPU %.1f s; %s\n", sluice.peak_rss_kb() / 1024.0, sluice.cpu_seconds(),
              summary_line(sluice.log()).c_str());
  std::printf("correctness: %s (%lld rows differ, created_at aside; stored offsets %lld of %zu)\n",
              correct ? "OK" : "FAILED", static_cast<long long>(differing), static_cast<long long>(stored),
              load.records().size());
  std::remove(config.c_str());
  return correct ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string option = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(option + " needs a value");
        return argv[++i];
      };
      if (option == "--events") options.events = std::stoull(value());
      else if (option == "--schemaless") options.schemaless = true;
      else if (option == "--note-bytes") options.note_bytes = std::stoul(value());
      else if (option == "--invalid") options.invalid = std::stod(value());
      else if (option == "--seed") options.seed = std::stoull(value());
      else if (option == "--partitions") options.partitions = std::stoi(value());
      else if (option == "--latency") {
        options.latency_rate = std::stod(value());
        options.latency_seconds = std::stod(value());
      } else if (option == "--naive-seconds") options.naive_seconds = std::stod(value());
      else if (option == "--no-limits") options.limits = false;
      else if (option == "--set") options.sets.push_back(value());
      else if (option == "--log") options.log_path = value();
      else if (option == "--wrap") options.wrap = value();
      else if (option == "--pg-set") options.pg_sets.push_back(value());
      else if (option == "--help" || option == "-h") {
        std::cout << kUsage;
        return 0;
      } else {
        throw std::runtime_error("unknown option " + option);
      }
    }
  } catch (const std::exception& error) {
    std::cerr << "bench_e2e: " << error.what() << "\n" << kUsage;
    return 2;
  }
  try {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    for (const auto& set : options.pg_sets) {
      auto eq = set.find('=');
      if (eq == std::string::npos) throw std::runtime_error("--pg-set wants KEY=VALUE");
      testing::query(testing::postgres().url(),
                     "ALTER SYSTEM SET " + set.substr(0, eq) + " = '" + set.substr(eq + 1) + "'");
      testing::query(testing::postgres().url(), "SELECT pg_reload_conf()");
    }
    int code = options.latency_rate > 0 ? latency_run(options) : throughput_run(options);
    if (!options.pg_sets.empty()) {
      // The server's directory goes away at exit.
      std::filesystem::copy_file(testing::postgres().data_dir() + "/../server.log", "/tmp/bench_e2e_pg.log",
                                 std::filesystem::copy_options::overwrite_existing);
      std::printf("PostgreSQL server log: /tmp/bench_e2e_pg.log\n");
    }
    return code;
  } catch (const std::exception& error) {
    std::cerr << "bench_e2e: " << error.what() << "\n";
    return 1;
  }
}
