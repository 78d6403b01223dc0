#include "cli/run_command.h"

#include <csignal>
#include <iostream>
#include <optional>
#include <thread>
#include <unistd.h>

#include "connectors/kafka/kafka_source.h"
#include "core/logging.h"
#include "decode/debezium_decoder.h"
#include "dlq/kafka_dead_letter_producer.h"
#include "pipeline/pipeline.h"
#include "route/router.h"
#include "sinks/postgres/postgres_sink.h"
#include "sinks/postgres/postgres_target_catalog.h"
#include "validate/masker.h"
#include "validate/validator_chain.h"

namespace sluice::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;

// Waits for SIGTERM/SIGINT on its own thread: the first asks the pipeline to
// finish and commit the current batch; the second exits at once, committing
// nothing more. The signals are blocked in every other thread.
class SignalWatcher {
 public:
  explicit SignalWatcher(Pipeline* pipeline) : pipeline_(pipeline) {
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
    while (!done_) {
      int signal = sigtimedwait(&set, nullptr, &timeout);
      if (signal != SIGTERM && signal != SIGINT) continue;
      if (++signals_ > 1) {
        logging::get("pipeline")->warn("second signal: exiting now without committing the current batch");
        std::_Exit(kExitRuntime);
      }
      logging::get("pipeline")->info("signal {}: finishing the current batch, then exiting", signal);
      if (Pipeline* pipeline = pipeline_.load()) pipeline->request_stop();
    }
  }

  std::atomic<Pipeline*> pipeline_;
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
  SignalWatcher signals(nullptr);

  // Rule syntax first: a typo should not wait for PostgreSQL.
  if (auto rules = validate::ValidatorChain::create(config, nullptr); !rules) {
    std::cerr << "sluice: bad configuration:\n" << rules.error().message << "\n";
    return 2;
  }

  auto router = Router::create(config.sink.table_name_format);
  if (!router) {
    std::cerr << "sluice: " << router.error().message << "\n";
    return 2;
  }

  // PostgreSQL may still be starting: wait for it, as for any transient failure.
  std::unique_ptr<pg::PostgresSink> sink;
  auto delay = config.errors.retry_backoff_initial;
  while (!sink) {
    auto opened = pg::PostgresSink::open(config);
    if (opened) {
      sink = std::move(*opened);
      break;
    }
    if (opened.error().error_class != ErrorClass::kTransient) {
      std::cerr << "sluice: " << opened.error().message << "\n";
      return kExitRuntime;
    }
    log->warn("PostgreSQL not reachable, retrying in {} ms: {}", delay.count(), opened.error().message);
    if (signals.stop_requested()) return kExitOk;
    std::this_thread::sleep_for(delay);
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
    return configuration ? 2 : kExitRuntime;
  }
  for (const std::string& note : notes) logging::get("validate")->warn("{}", note);
  auto masker = validate::Masker::create(config, &(*validators)->counters());
  if (!masker) {
    std::cerr << "sluice: bad configuration:\n" << masker.error().message << "\n";
    return 2;
  }
  log->info("validation: {} rule(s), {} table(s) with masks{}", (*validators)->rule_count(), config.masks.size(),
            config.errors.dlq_mask ? ", dead-letter records masked" : "");

  std::unique_ptr<dlq::KafkaDeadLetterProducer> dead_letters;
  if (!options.dead_letter_topic.empty()) {
    auto producer = dlq::KafkaDeadLetterProducer::create(config.kafka, config.errors, options.dead_letter_topic);
    if (!producer) {
      std::cerr << "sluice: " << producer.error().message << "\n";
      return kExitRuntime;
    }
    dead_letters = std::move(*producer);
  }

  DebeziumDecoder decoder(config.decoder);
  PipelineParts parts;
  parts.sink = sink.get();
  parts.dead_letters = dead_letters.get();
  std::optional<validate::MaskingDeadLetterSink> masked_dead_letters;
  if (dead_letters && config.errors.dlq_mask && !(*masker)->empty()) {
    masked_dead_letters.emplace(*dead_letters, **masker);
    parts.dead_letters = &*masked_dead_letters;
  }
  parts.validators.push_back(validators->get());
  if (!(*masker)->empty()) parts.masker = masker->get();
  parts.decode = [&decoder](const RawRecord& record) { return decoder.decode(record); };
  parts.prepare = options.prepare;
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
