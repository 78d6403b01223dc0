#include "cli/run_command.h"

#include <csignal>
#include <iostream>
#include <optional>
#include <thread>
#include <unistd.h>

#include "cli/exit_codes.h"
#include "cli/metrics_server.h"
#include "connectors/kafka/kafka_source.h"
#include "core/log_rate_limiter.h"
#include "core/logging.h"
#include "decode/debezium_decoder.h"
#include "dlq/kafka_dead_letter_producer.h"
#include "metrics/registry.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_metrics.h"
#include "route/router.h"
#include "sinks/postgres/postgres_preflight.h"
#include "sinks/postgres/postgres_sink.h"
#include "sinks/postgres/postgres_target_catalog.h"
#include "validate/masker.h"
#include "sluice/version.h"
#include "validate/validator_chain.h"

namespace sluice::cli {
namespace {


// Waits for SIGTERM/SIGINT on its own thread: the first asks the pipeline to
// finish and commit the current batch; the second exits at once, committing
// nothing more. The signals are blocked in every other thread.
// Backstop: a PostgreSQL that hangs (a lock, a stalled network) keeps the apply
// thread inside libpq where the pipeline's own shutdown bound cannot reach it,
// so `shutdown_timeout` plus a second after the first signal the process exits
// (1) without committing; the open transaction dies with the connection.
class SignalWatcher {
 public:
  SignalWatcher(Pipeline* pipeline, std::chrono::milliseconds shutdown_timeout)
      : pipeline_(pipeline), shutdown_timeout_(shutdown_timeout) {
    thread_ = std::thread([this] { watch(); });
  }
  ~SignalWatcher() {
    done_ = true;
    thread_.join();
  }
  void set_pipeline(Pipeline* pipeline) { pipeline_.store(pipeline); }
  bool stop_requested() const { return signals_ > 0; }

  static void block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }

 private:
  void watch() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    timespec timeout{0, 200'000'000};
    auto deadline = std::chrono::steady_clock::time_point::max();
    while (!done_) {
      int signal = sigtimedwait(&set, nullptr, &timeout);
      if (std::chrono::steady_clock::now() > deadline) {
        logging::get("pipeline")->error("shutdown did not finish within shutdown.timeout.ms ({} ms): exiting without "
                                        "committing the current batch; it will be re-delivered",
                                        shutdown_timeout_.count());
        std::_Exit(kExitRuntime);
      }
      if (signal != SIGTERM && signal != SIGINT) continue;
      if (++signals_ > 1) {
        logging::get("pipeline")->warn("second signal: exiting now without committing the current batch");
        std::_Exit(kExitRuntime);
      }
      deadline = std::chrono::steady_clock::now() + shutdown_timeout_ + std::chrono::seconds(1);
      logging::get("pipeline")->info("signal {}: finishing the current batch, then exiting", signal);
      if (Pipeline* pipeline = pipeline_.load()) pipeline->request_stop();
    }
  }

  std::atomic<Pipeline*> pipeline_;
  const std::chrono::milliseconds shutdown_timeout_;
  std::atomic<bool> done_{false};
  std::atomic<int> signals_{0};
  std::thread thread_;
};

// Calls `tick` about once a second on its own thread until destroyed.
class ProgressTicker {
 public:
  ProgressTicker(const PipelineCounters& counters, std::function<void(const PipelineCounters&, bool)> tick)
      : counters_(counters), tick_(std::move(tick)) {
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!done_) {
        if (wake_.wait_for(lock, std::chrono::seconds(1), [this] { return done_; })) break;
        tick_(counters_, false);
      }
    });
  }
  ~ProgressTicker() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  const PipelineCounters& counters_;
  std::function<void(const PipelineCounters&, bool)> tick_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

constexpr std::string_view kValidationRejects = "sluice_validation_rejects_total";

// Exports the validators' reject counts while it lives; declared after the
// validators, so it is gone (and no scrape reads them) before they are.
class RejectCountsExport {
 public:
  RejectCountsExport(metrics::Registry& registry, const validate::RejectCounters& counters) : registry_(registry) {
    registry.add_collector(kValidationRejects, "records rejected by validation and masking, by table and rule",
                           metrics::MetricType::kCounter, [&counters] {
                             std::vector<metrics::Sample> samples;
                             for (const auto& count : counters.snapshot()) {
                               samples.push_back({{{"table", count.table}, {"rule", count.rule}},
                                                  static_cast<double>(count.rejected)});
                             }
                             return samples;
                           });
  }
  ~RejectCountsExport() { registry_.remove_collector(kValidationRejects); }
  RejectCountsExport(const RejectCountsExport&) = delete;
  RejectCountsExport& operator=(const RejectCountsExport&) = delete;

 private:
  metrics::Registry& registry_;
};

// /readyz: consuming (partitions assigned or awaited), the last PostgreSQL
// connect or apply succeeded, and the server answers a ping right now.
Readiness readiness(const Config& config, const metrics::Registry& registry) {
  if (registry.value(PipelineMetrics::kRunning) != 1) return {false, "not consuming yet (starting) or any more (stopping)"};
  if (registry.value(PipelineMetrics::kPostgresUp) != 1) {
    return {false, "PostgreSQL at " + pg::describe_target(config.connection) + " failed the last connect or apply"};
  }
  if (!pg::postgres_reachable(config.connection, std::chrono::seconds(2))) {
    return {false, "PostgreSQL at " + pg::describe_target(config.connection) + " does not answer"};
  }
  auto assigned = static_cast<int64_t>(registry.value(PipelineMetrics::kAssignedPartitions));
  if (assigned == 0) return {true, "ready: waiting for a partition assignment"};
  return {true, "ready: " + std::to_string(assigned) + " partition(s) assigned"};
}

}  // namespace

int run_command(const Config& config, bool until_caught_up) {
  PipelineRunOptions options;
  options.until_caught_up = until_caught_up;
  options.dead_letter_topic = config.errors.dlq_topic;
  return run_pipeline(config, options);
}

int run_pipeline(const Config& config, const PipelineRunOptions& options) {
  const bool until_caught_up = options.until_caught_up;
  auto log = logging::get("pipeline");
  SignalWatcher::block_signals();
  SignalWatcher signals(nullptr, config.pipeline.shutdown_timeout);

  // Rule syntax first: a typo should not wait for PostgreSQL.
  if (auto rules = validate::ValidatorChain::create(config, nullptr); !rules) {
    std::cerr << "sluice: bad configuration:\n" << rules.error().message << "\n";
    return kExitUsage;
  }

  auto router = Router::create(config.sink.table_name_format);
  if (!router) {
    std::cerr << "sluice: " << router.error().message << "\n";
    return kExitUsage;
  }

  // The endpoint answers from the start: /healthz while waiting for PostgreSQL.
  metrics::Registry registry;
  registry.gauge("sluice_build_info", "always 1; the version is a label", {{"version", std::string(kVersion)}}).set(1);
  std::unique_ptr<MetricsServer> metrics_server;
  if (!config.observability.metrics_listen.empty()) {
    auto started = MetricsServer::start(config.observability.metrics_listen, registry,
                                        [&config, &registry] { return readiness(config, registry); });
    if (!started) {
      std::cerr << "sluice: " << started.error().message << "\n";
      return started.error().reason == "bad_configuration" ? 2 : kExitRuntime;
    }
    metrics_server = std::move(*started);
    log->info("metrics on http://{}:{} (/metrics, /healthz, /readyz)", metrics_server->host(), metrics_server->port());
  }

  // PostgreSQL may still be starting: wait for it, as for any transient
  // failure. One sink (connection) per apply lane.
  std::vector<std::unique_ptr<pg::PostgresSink>> sinks;
  auto delay = config.errors.retry_backoff_initial;
  logging::LogRateLimiter start_up_warnings(std::chrono::seconds(30), 3);
  while (sinks.size() < config.pipeline.apply_connections) {
    auto opened = pg::PostgresSink::open(config);
    if (opened) {
      sinks.push_back(std::move(*opened));
      continue;
    }
    if (opened.error().error_class != ErrorClass::kTransient) {
      std::cerr << "sluice: " << opened.error().message << "\n";
      return kExitRuntime;
    }
    registry.gauge(PipelineMetrics::kPostgresUp, PipelineMetrics::kPostgresUpHelp).set(0);
    if (uint64_t suppressed = 0; start_up_warnings.allow(suppressed)) {
      log->warn("PostgreSQL not reachable, retrying in {} ms: {}{}", delay.count(), opened.error().message,
                suppressed == 0 ? "" : " (" + std::to_string(suppressed) + " similar warnings suppressed)");
    }
    for (auto slept = std::chrono::milliseconds(0); slept < delay && !signals.stop_requested();
         slept += std::chrono::milliseconds(100)) {
      std::this_thread::sleep_for(std::min(delay - slept, std::chrono::milliseconds(100)));
    }
    if (signals.stop_requested()) return kExitOk;
    delay = std::min(delay * 2, config.errors.retry_backoff_max);
  }

  // Validators and masking: rules were checked by load_config's caller only
  // for syntax; here the tables and columns they name are checked too.
  pg::PostgresTargetCatalog catalog(config.connection);
  std::vector<std::string> notes;
  auto validators = validate::ValidatorChain::create(config, &catalog, &notes);
  if (!validators) {
    bool configuration = validators.error().reason == "bad_configuration";
    std::cerr << "sluice: " << (configuration ? "bad configuration:\n" : "") << validators.error().message << "\n";
    return configuration ? kExitUsage : kExitRuntime;
  }
  for (const std::string& note : notes) logging::get("validate")->warn("{}", note);
  RejectCountsExport reject_counts(registry, (*validators)->counters());
  auto masker = validate::Masker::create(config, &(*validators)->counters());
  if (!masker) {
    std::cerr << "sluice: bad configuration:\n" << masker.error().message << "\n";
    return kExitUsage;
  }
  log->info("validation: {} rule(s), {} table(s) with masks{}", (*validators)->rule_count(), config.masks.size(),
            config.errors.dlq_mask ? ", dead-letter records masked" : "");

  // Each lane has its own producer, so that its flush acknowledges exactly
  // its own rejects.
  std::vector<std::unique_ptr<dlq::KafkaDeadLetterProducer>> dead_letters;
  std::vector<std::unique_ptr<validate::MaskingDeadLetterSink>> masked_dead_letters;
  PipelineParts parts;
  for (auto& sink : sinks) {
    ApplyLane lane{sink.get(), nullptr};
    if (!options.dead_letter_topic.empty()) {
      auto producer = dlq::KafkaDeadLetterProducer::create(config.kafka, config.errors, options.dead_letter_topic);
      if (!producer) {
        std::cerr << "sluice: " << producer.error().message << "\n";
        return kExitRuntime;
      }
      dead_letters.push_back(std::move(*producer));
      lane.dead_letters = dead_letters.back().get();
      if (config.errors.dlq_mask && !(*masker)->empty()) {
        masked_dead_letters.push_back(std::make_unique<validate::MaskingDeadLetterSink>(*dead_letters.back(), **masker));
        lane.dead_letters = masked_dead_letters.back().get();
      }
    }
    parts.lanes.push_back(lane);
  }

  DebeziumDecoder decoder(config.decoder);
  parts.validators.push_back(validators->get());
  if (!(*masker)->empty()) parts.masker = masker->get();
  parts.decode = [&decoder](const RawRecord& record) { return decoder.decode(record); };
  parts.prepare = options.prepare;
  parts.metrics = &registry;
  Pipeline pipeline(config, std::move(*router), std::move(parts));

  auto source = kafka::KafkaSource::create(config.kafka, pipeline);
  if (!source) {
    std::cerr << "sluice: " << source.error().message << "\n";
    return kExitRuntime;
  }
  pipeline.attach(**source);
  signals.set_pipeline(&pipeline);
  if (signals.stop_requested()) pipeline.request_stop();

  log->info("sluice running: group {}, {} -> PostgreSQL{}", config.kafka.group_id(),
            config.kafka.topics_regex.empty() ? std::to_string(config.kafka.topics.size()) + " topic(s)"
                                              : "topics matching " + config.kafka.topics_regex,
            until_caught_up ? " (until caught up)" : "");
  std::optional<ProgressTicker> progress;
  if (options.on_progress) progress.emplace(pipeline.counters(), options.on_progress);
  Status status = pipeline.run(until_caught_up);
  progress.reset();
  if (options.on_progress) options.on_progress(pipeline.counters(), true);
  signals.set_pipeline(nullptr);
  for (const auto& count : (*validators)->counters().snapshot()) {
    log->info("rejected by validation: {} x {} in {}", count.rejected, count.rule, count.table);
  }
  if (!status) {
    std::cerr << "sluice: stopped: " << status.error().message << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace sluice::cli
