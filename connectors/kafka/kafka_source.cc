#include "kafka_source.h"

#include <librdkafka/rdkafka.h>
#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <thread>

#include "core/log_rate_limiter.h"
#include "core/logging.h"
#include "error_mapping.h"
#include "message_record.h"

namespace sluice::kafka {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::get("kafka");
  return logger;
}

TopicPartition to_sluice(const RdKafka::TopicPartition& tp) {
  return TopicPartition{tp.topic(), Partition{tp.partition()}};
}

struct PartitionList {
  std::vector<RdKafka::TopicPartition*> items;
  ~PartitionList() { RdKafka::TopicPartition::destroy(items); }
};

// What a held record keeps alive, roughly.
size_t held_size(const RawRecord& record) {
  return sizeof(RawRecord) + (record.key ? record.key->size() : 0) + (record.value ? record.value->size() : 0);
}

// A fetch response lives in one buffer as large as the response. glibc serves
// such a buffer from mmap (above its threshold, 128 KB at first) and unmaps it
// when the last record in it is freed, or trims it off the top of the heap:
// every response then lands in fresh pages the kernel must zero, which cost
// about a sixth of sluice's CPU in a backlog drain. Serving responses from the
// heap and keeping freed memory there reuses the same pages. The peak memory
// stays what it was; memory freed after a peak is kept for the next one, up to
// the trim threshold. Process-wide, as glibc's allocator is.
void keep_responses_in_heap(int64_t fetch_max_bytes) {
  constexpr int64_t kMaxThreshold = 32 << 20;  // glibc refuses more
  if (fetch_max_bytes <= 0 || fetch_max_bytes * 2 > kMaxThreshold) return;
  if (::mallopt(M_MMAP_THRESHOLD, static_cast<int>(fetch_max_bytes * 2)) == 1) {
    ::mallopt(M_TRIM_THRESHOLD, 128 << 20);
  }
}

}  // namespace

Result<std::unique_ptr<KafkaSource>> KafkaSource::create(const KafkaConfig& config, PartitionListener& listener) {
  std::unique_ptr<KafkaSource> source(new KafkaSource(listener));
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::map<std::string, std::string> settings = config.properties;
  settings.try_emplace("auto.offset.reset", "earliest");
  // Every delivered record keeps its whole fetch response alive until the
  // batch holding it commits, and responses above glibc's mmap threshold are
  // fresh zeroed pages each time: 8 MB rather than librdkafka's 50 MB keeps
  // the memory of a backlog drain bounded and costs less CPU. librdkafka
  // wants it no smaller than message.max.bytes.
  if (!settings.contains("fetch.max.bytes")) {
    int64_t fetch_max = 8 << 20;
    if (auto it = settings.find("message.max.bytes"); it != settings.end()) {
      fetch_max = std::max<int64_t>(fetch_max, std::strtoll(it->second.c_str(), nullptr, 10));
    }
    settings["fetch.max.bytes"] = std::to_string(fetch_max);
  }
  keep_responses_in_heap(std::strtoll(settings["fetch.max.bytes"].c_str(), nullptr, 10));
  const std::string& reset = settings["auto.offset.reset"];
  if (reset == "latest" || reset == "largest" || reset == "end") {
    source->reset_offset_ = RdKafka::Topic::OFFSET_END;
  } else if (reset != "earliest" && reset != "smallest" && reset != "beginning") {
    source->reset_offset_ = RdKafka::Topic::OFFSET_INVALID;  // "error", or a value librdkafka refuses below
  }
  // Partition EOF events tell where the end was reached, past offsets that
  // hold no record (transaction markers): see next_offset().
  const std::pair<const char*, const char*> forced[] = {{"enable.auto.commit", "false"},
                                                         {"enable.auto.offset.store", "false"},
                                                         {"enable.partition.eof", "true"},
                                                         {"partition.assignment.strategy", "cooperative-sticky"}};
  for (const auto& [key, value] : forced) {
    auto it = settings.find(key);
    if (it != settings.end() && it->second != value) {
      log()->warn("kafka.{} = {} overridden to {}: sluice manages it (offsets stored with the rows)", key, it->second,
                  value);
    }
    settings[key] = value;
  }
  std::string error;
  for (const auto& [key, value] : settings) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
      return Error::fatal("bad_configuration", "kafka." + key + ": " + error);
    }
  }
  if (conf->set("rebalance_cb", &source->rebalance_, error) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", &source->events_, error) != RdKafka::Conf::CONF_OK) {
    return Error::fatal("kafka_setup", error);
  }
  source->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!source->consumer_) return Error::fatal("kafka_setup", "cannot create the Kafka consumer: " + error);
  std::vector<std::string> subscription = config.topics;
  source->topics_ = config.topics;
  if (!config.topics_regex.empty()) {
    subscription = {"^" + config.topics_regex};
    try {
      // As librdkafka reads the subscription: "^" before the whole pattern.
      source->topics_regex_.emplace(subscription.front());
    } catch (const std::regex_error&) {
      // librdkafka's regex dialect took it; the group check then looks at the
      // topics of this member's own assignments only.
      log()->warn("topics.regex is not an ECMAScript regex here: --until-caught-up checks only the topics this "
                  "instance is assigned, not those only other members hold");
    }
  }
  if (RdKafka::ErrorCode code = source->consumer_->subscribe(subscription); code != RdKafka::ERR_NO_ERROR) {
    return kafka_error(code, "subscribing");
  }
  source->kicker_ = std::thread([raw = source.get()] { raw->kicker_loop(); });
  return source;
}

KafkaSource::~KafkaSource() {
  stop_kicker();
  if (consumer_ && !closed_) consumer_->close();
}

void KafkaSource::Events::event_cb(RdKafka::Event& event) {
  // A broker that is down reports on every reconnect attempt: a few lines per
  // interval say enough.
  static logging::LogRateLimiter limiter(std::chrono::seconds(30), 5);
  uint64_t suppressed = 0;
  auto note = [&] { return suppressed == 0 ? std::string() : " (" + std::to_string(suppressed) + " similar suppressed)"; };
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      if (event.fatal()) {
        log()->error("fatal consumer error: {}", event.str());
      } else if (limiter.allow(suppressed)) {
        log()->warn("consumer: {} ({}){}", event.str(), RdKafka::err2str(event.err()), note());
      }
      break;
    case RdKafka::Event::EVENT_LOG:
      if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR) {
        if (limiter.allow(suppressed)) log()->warn("librdkafka {}: {}{}", event.fac(), event.str(), note());
      } else {
        log()->debug("librdkafka {}: {}", event.fac(), event.str());
      }
      break;
    default:
      break;
  }
}

void KafkaSource::Rebalance::rebalance_cb(RdKafka::KafkaConsumer*, RdKafka::ErrorCode err,
                                          std::vector<RdKafka::TopicPartition*>& partitions) {
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    owner_.assign(partitions);
  } else {
    owner_.revoke(partitions);
  }
}

void KafkaSource::assign(std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<TopicPartition> added;
  for (auto* tp : partitions) added.push_back(to_sluice(*tp));
  if (added.empty()) {
    // Topics may have grown, or matched the regex, in the hands of others.
    subscription_.reset();
    // Cooperative rebalances end with an (often empty) incremental assignment.
    if (std::unique_ptr<RdKafka::Error> error(consumer_->incremental_assign(partitions)); error) {
      log()->error("incremental assign failed: {}", error->str());
    }
    return;
  }
  // The stored offsets are the truth; without them the consumer cannot be
  // positioned safely, so keep asking (the store may be briefly unreachable).
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    auto stored = listener_.on_assigned(added);
    if (stored) {
      std::vector<RdKafka::TopicPartition*> unstored, from_beginning;
      for (auto* tp : partitions) {
        auto it = stored->find(to_sluice(*tp));
        if (it == stored->end()) {
          unstored.push_back(tp);
        } else if (it->second == kFromBeginning) {
          tp->set_offset(RdKafka::Topic::OFFSET_BEGINNING);
          from_beginning.push_back(tp);
        } else {
          tp->set_offset(it->second.value);
        }
      }
      std::vector<RdKafka::TopicPartition*> logical = position_unstored(unstored);
      logical.insert(logical.end(), from_beginning.begin(), from_beginning.end());
      look_up_logical(logical);
      break;
    }
    if (stored.error().error_class == ErrorClass::kFatal) {
      log()->error("cannot read stored offsets: {}", stored.error().message);
    } else {
      log()->warn("cannot read stored offsets yet: {}; retrying", stored.error().message);
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
  // Read now, before the new partitions fetch: later the request would wait
  // behind a fetch's long poll (fetch.wait.max.ms).
  if (!learn_subscription(kLookupTimeoutMs)) log()->debug("topic metadata unavailable; read when needed");
  if (std::unique_ptr<RdKafka::Error> error(consumer_->incremental_assign(partitions)); error) {
    log()->error("incremental assign failed: {}", error->str());
    return;
  }
  for (const auto& tp : added) assigned_.insert(tp);
  for (const auto& tp : added) end_reached_.erase(tp);
  // librdkafka keeps a partition's pause across its loss or revocation: one
  // paused here before it left would come back paused, and resume_all() would
  // never resume it (it was not assigned when fetching resumed). So new
  // partitions get the pause state of the moment either way.
  if (fetching_paused_) {
    consumer_->pause(partitions);
  } else {
    consumer_->resume(partitions);
  }
  log()->info("assigned {} partition(s), {} in total", added.size(), assigned_.size());
}

std::vector<RdKafka::TopicPartition*> KafkaSource::position_unstored(std::vector<RdKafka::TopicPartition*>& unstored) {
  std::vector<RdKafka::TopicPartition*> uncommitted;
  for (auto* tp : unstored) tp->set_offset(RdKafka::Topic::OFFSET_INVALID);
  if (unstored.empty() || reset_offset_ == RdKafka::Topic::OFFSET_INVALID) return uncommitted;
  // librdkafka itself would ask for the committed offsets too, but would then
  // wait retry.backoff.ms (100 ms) before applying auto.offset.reset to those
  // without one: every new assignment would start fetching that much later.
  if (RdKafka::ErrorCode code = consumer_->committed(unstored, kLookupTimeoutMs); code != RdKafka::ERR_NO_ERROR) {
    log()->debug("committed offsets unavailable ({}); librdkafka positions the partitions", RdKafka::err2str(code));
    for (auto* tp : unstored) tp->set_offset(RdKafka::Topic::OFFSET_INVALID);
    return uncommitted;
  }
  for (auto* tp : unstored) {
    if (tp->err() != RdKafka::ERR_NO_ERROR) {
      tp->set_offset(RdKafka::Topic::OFFSET_INVALID);
    } else if (tp->offset() < 0) {
      tp->set_offset(reset_offset_);
      uncommitted.push_back(tp);
    }
  }
  return uncommitted;
}

void KafkaSource::look_up_logical(std::vector<RdKafka::TopicPartition*>& logical) {
  if (logical.empty()) return;
  // A logical offset (beginning, end) makes librdkafka look the partition up
  // as soon as it is assigned, before it knows the partition's leader at times,
  // and then it retries only 500 ms later. Looked up here instead, in one
  // request: ListOffsets takes OFFSET_BEGINNING and OFFSET_END (-2, -1) as
  // timestamps meaning just that. What is not found stays logical.
  std::vector<int64_t> wanted;
  for (auto* tp : logical) wanted.push_back(tp->offset());
  const bool found = consumer_->offsetsForTimes(logical, kLookupTimeoutMs) == RdKafka::ERR_NO_ERROR;
  for (size_t i = 0; i < logical.size(); ++i) {
    if (!found || logical[i]->err() != RdKafka::ERR_NO_ERROR || logical[i]->offset() < 0) {
      logical[i]->set_offset(wanted[i]);
    }
  }
}

void KafkaSource::revoke(std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<TopicPartition> removed;
  for (auto* tp : partitions) removed.push_back(to_sluice(*tp));
  bool lost = consumer_->assignment_lost();
  // Held records were never delivered: the next owner reads them again.
  std::set<TopicPartition> gone(removed.begin(), removed.end());
  for (const auto& tp : removed) end_reached_.erase(tp);
  std::erase_if(held_, [&](const RawRecord& record) {
    if (!gone.contains(TopicPartition{std::string(record.topic), record.partition})) return false;
    held_bytes_ -= held_size(record);
    return true;
  });
  first_held_stale_ = true;
  listener_.on_revoked(removed, lost);
  if (std::unique_ptr<RdKafka::Error> error(consumer_->incremental_unassign(partitions)); error) {
    log()->error("incremental unassign failed: {}", error->str());
  }
  for (const auto& tp : removed) assigned_.erase(tp);
  for (const auto& tp : removed) revoked_in_poll_[tp] = read_in_poll_;
  log()->info("{} {} partition(s), {} left", lost ? "lost" : "revoked", removed.size(), assigned_.size());
}

void KafkaSource::note_ends_reached(const std::vector<RawRecord>& records) {
  // Records come in per-partition order: the last of each partition counts.
  std::vector<std::pair<TopicPartitionRef, Offset>> last;
  for (const RawRecord& record : records) {
    auto same = [&](const auto& entry) {
      return entry.first.partition == record.partition && entry.first.topic == record.topic;
    };
    // Records come in runs per partition: the current run's entry is the last.
    auto it = !last.empty() && same(last.back()) ? last.end() - 1 : std::find_if(last.begin(), last.end(), same);
    if (it == last.end()) {
      last.emplace_back(TopicPartitionRef{record.topic, record.partition}, record.offset);
    } else {
      it->second = record.offset;
    }
  }
  for (const auto& [ref, offset] : last) {
    TopicPartition tp{std::string(ref.topic), ref.partition};
    if (!assigned_.contains(tp)) continue;
    int64_t low = 0, high = 0;
    if (consumer_->get_watermark_offsets(tp.topic, tp.partition.value, &low, &high) != RdKafka::ERR_NO_ERROR) continue;
    if (high != offset.value + 1) continue;
    Offset& reached = end_reached_[tp];
    reached = std::max(reached, Offset{high});
  }
}

Result<std::optional<RawRecord>> KafkaSource::next(int wait_ms) {
  std::shared_ptr<RdKafka::Message> message(consumer_->consume(wait_ms));
  RdKafka::ErrorCode code = message->err();
  while (code == RdKafka::ERR__PARTITION_EOF) {
    TopicPartition tp{message->topic_name(), Partition{message->partition()}};
    if (assigned_.contains(tp)) end_reached_[tp] = Offset{message->offset()};
    message.reset(consumer_->consume(0));
    code = message->err();
  }
  if (code == RdKafka::ERR__TIMED_OUT) return std::optional<RawRecord>();
  if (code != RdKafka::ERR_NO_ERROR) {
    Error error = kafka_error(code, "consuming");
    if (error.error_class == ErrorClass::kFatal) return error;
    log()->warn("{}", error.message);
    return std::optional<RawRecord>();
  }
  return std::optional<RawRecord>(raw_record_of(std::move(message)));
}

Result<std::vector<RawRecord>> KafkaSource::poll(size_t max_records, std::chrono::milliseconds timeout) {
  std::vector<RawRecord> records;
  if (paused_) {
    if (Status status = hold(timeout); !status) return status.take_error();
    return records;
  }
  while (!held_.empty() && records.size() < max_records) {
    held_bytes_ -= held_size(held_.front());
    records.push_back(std::move(held_.front()));
    held_.pop_front();
    first_held_stale_ = true;
  }
  int wait_ms = static_cast<int>(timeout.count());
  revoked_in_poll_.clear();
  while (records.size() < max_records) {
    read_in_poll_ = records.size();
    auto record = next(records.empty() ? wait_ms : 0);
    if (!record) return record.take_error();
    if (!*record) break;
    records.push_back(std::move(**record));
  }
  if (!revoked_in_poll_.empty()) {
    // A rebalance in the middle of this poll took partitions whose records
    // were already read: their next owner (this member again, maybe) reads
    // them again from what was stored, so they are not applied from here.
    // Records read after a partition came back within the same poll belong
    // to its new assignment, which starts from what was stored: they stay
    // (dropping them would skip them for good).
    size_t kept = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      auto revoked = revoked_in_poll_.find(TopicPartitionRef{records[i].topic, records[i].partition});
      if (revoked != revoked_in_poll_.end() && i < revoked->second) continue;
      if (kept != i) records[kept] = std::move(records[i]);
      ++kept;
    }
    records.resize(kept);
  }
  note_ends_reached(records);
  auto now = std::chrono::steady_clock::now();
  if (records.size() == max_records) {
    last_record_ = now;
  } else if (now - last_record_ < kFlowWindow) {
    if (!records.empty()) last_record_ = now;
    kick_fetcher();
  }
  return records;
}

void KafkaSource::kick_fetcher() {
  auto now = std::chrono::steady_clock::now();
  if (assigned_.empty() || now - last_kick_ < kKickInterval) return;
  last_kick_ = now;
  auto it = assigned_.begin();
  std::advance(it, kick_turn_++ % assigned_.size());
  {
    std::lock_guard lock(kick_mutex_);
    if (kick_) return;  // the last one is still on its way
    kick_ = *it;
  }
  kick_changed_.notify_one();
}

void KafkaSource::kicker_loop() {
  std::unique_lock lock(kick_mutex_);
  for (;;) {
    kick_changed_.wait(lock, [&] { return kicker_exit_ || kick_.has_value(); });
    if (kicker_exit_) return;
    TopicPartition tp = *kick_;
    lock.unlock();
    int64_t low = 0, high = 0;
    // The answer does not matter; sending the request wakes the fetcher.
    (void)consumer_->query_watermark_offsets(tp.topic, tp.partition.value, &low, &high, 1000);
    lock.lock();
    kick_.reset();
  }
}

void KafkaSource::stop_kicker() {
  {
    std::lock_guard lock(kick_mutex_);
    kicker_exit_ = true;
  }
  kick_changed_.notify_one();
  if (kicker_.joinable()) kicker_.join();
}

Status KafkaSource::hold(std::chrono::milliseconds timeout) {
  if (std::chrono::steady_clock::now() - paused_since_ < kShortPause) {
    // Serves the group without waiting; the caller waits for the apply side.
    auto record = next(0);
    if (!record) return record.take_error();
    if (*record) {
      held_bytes_ += held_size(**record);
      held_.push_back(std::move(**record));
      first_held_stale_ = true;
    }
    return {};
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!fetching_paused_ && held_bytes_ >= kMaxHeldBytes) pause_fetching();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    // Serves the group (rebalance callbacks) even when nothing more is fetched.
    auto record = next(static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (!record) return record.take_error();
    if (*record) {
      held_bytes_ += held_size(**record);
      held_.push_back(std::move(**record));
      first_held_stale_ = true;
    } else {
      return {};
    }
    if (left.count() <= 0) return {};
  }
}

void KafkaSource::pause_fetching() {
  log()->debug("fetching paused: {} bytes of records held", held_bytes_);
  fetching_paused_ = true;
  PartitionList list;
  for (const auto& tp : assigned_) list.items.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition.value));
  if (!list.items.empty()) consumer_->pause(list.items);
}

Status KafkaSource::commit(const std::vector<PartitionOffset>& offsets) {
  PartitionList list;
  for (const auto& po : offsets) {
    if (!assigned_.contains(po.partition)) continue;  // no longer ours
    list.items.push_back(RdKafka::TopicPartition::create(po.partition.topic, po.partition.partition.value, po.next.value));
  }
  if (list.items.empty()) return {};
  RdKafka::ErrorCode code = consumer_->commitAsync(list.items);
  if (code != RdKafka::ERR_NO_ERROR) return kafka_error(code, "committing offsets to the consumer group");
  return {};
}

void KafkaSource::pause_all() {
  if (paused_) return;
  paused_ = true;
  paused_since_ = std::chrono::steady_clock::now();
}

void KafkaSource::resume_all() {
  paused_ = false;
  if (!fetching_paused_) return;
  fetching_paused_ = false;
  PartitionList list;
  for (const auto& tp : assigned_) list.items.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition.value));
  if (!list.items.empty()) consumer_->resume(list.items);
}

std::vector<TopicPartition> KafkaSource::assignment() const { return {assigned_.begin(), assigned_.end()}; }

Result<std::map<TopicPartition, Watermarks>> KafkaSource::watermarks(const std::vector<TopicPartition>& partitions,
                                                                     std::chrono::milliseconds timeout) {
  std::map<TopicPartition, Watermarks> ends;
  for (const auto& tp : partitions) {
    int64_t low = 0, high = 0;
    // Fetch responses carry both watermarks; asking the broker instead would
    // queue behind the long-polling fetch on the same connection (up to
    // fetch.wait.max.ms per partition).
    // librdkafka caches the high watermark from every fetch response but the
    // low one only from statistics or a query: a partition whose low one was
    // never asked for counts from offset 0 (lag then errs high, never low).
    RdKafka::ErrorCode code = consumer_->get_watermark_offsets(tp.topic, tp.partition.value, &low, &high);
    if (code == RdKafka::ERR_NO_ERROR && high >= 0) {
      ends[tp] = Watermarks{Offset{low >= 0 ? low : 0}, Offset{high}};
      continue;
    }
    // Even a zero timeout waits for the broker's answer (hundreds of ms).
    if (timeout.count() == 0) continue;
    code = consumer_->query_watermark_offsets(tp.topic, tp.partition.value, &low, &high, static_cast<int>(timeout.count()));
    if (code != RdKafka::ERR_NO_ERROR) {
      return kafka_error(code, "reading the end offset of " + tp.topic + "[" + std::to_string(tp.partition.value) + "]");
    }
    ends[tp] = Watermarks{Offset{low}, Offset{high}};
  }
  return ends;
}

bool KafkaSource::subscribed(const std::string& topic) const {
  if (std::find(topics_.begin(), topics_.end(), topic) != topics_.end()) return true;
  // Internal topics (__consumer_offsets, ...) are never assigned to a regex subscriber.
  if (topics_regex_) return !topic.starts_with("__") && std::regex_search(topic, *topics_regex_);
  return false;
}

bool KafkaSource::learn_subscription(int timeout_ms) {
  subscription_.reset();
  RdKafka::Metadata* raw = nullptr;
  // Locally known topics are the subscribed ones; a regex needs the cluster's.
  if (consumer_->metadata(topics_regex_.has_value(), nullptr, &raw, timeout_ms) != RdKafka::ERR_NO_ERROR) return false;
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  std::set<TopicPartition> partitions;
  for (const RdKafka::TopicMetadata* topic : *metadata->topics()) {
    // A listed topic that does not exist has no partitions to wait for.
    if (topic->err() != RdKafka::ERR_NO_ERROR || !subscribed(topic->topic())) continue;
    for (const RdKafka::PartitionMetadata* partition : *topic->partitions()) {
      partitions.insert(TopicPartition{topic->topic(), Partition{partition->id()}});
    }
  }
  subscription_ = std::move(partitions);
  return true;
}

std::optional<Offset> KafkaSource::next_offset(const TopicPartition& tp) {
  if (first_held_stale_) {
    first_held_.clear();
    for (const RawRecord& record : held_) {
      if (!first_held_.contains(TopicPartitionRef{record.topic, record.partition})) {
        first_held_.emplace(TopicPartition{std::string(record.topic), record.partition}, record.offset);
      }
    }
    first_held_stale_ = false;
  }
  if (auto held = first_held_.find(tp); held != first_held_.end()) return held->second;
  auto it = end_reached_.find(tp);
  if (it == end_reached_.end()) return std::nullopt;
  return it->second;
}

Result<std::map<TopicPartition, Watermarks>> KafkaSource::watermarks_elsewhere(std::chrono::milliseconds timeout) {
  const int timeout_ms = static_cast<int>(timeout.count());
  if (!subscription_ && !learn_subscription(timeout_ms)) {
    return Error::transient("kafka_metadata", "cannot read the metadata of the subscribed topics");
  }
  PartitionList firsts, ends;
  for (const TopicPartition& tp : *subscription_) {
    if (assigned_.contains(tp)) continue;
    firsts.items.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition.value, RdKafka::Topic::OFFSET_BEGINNING));
    ends.items.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition.value, RdKafka::Topic::OFFSET_END));
  }
  std::map<TopicPartition, Watermarks> out;
  if (ends.items.empty()) return out;
  // ListOffsets takes OFFSET_BEGINNING and OFFSET_END (-2, -1) as timestamps
  // meaning just that; one request each for all partitions.
  for (PartitionList* list : {&firsts, &ends}) {
    if (RdKafka::ErrorCode code = consumer_->offsetsForTimes(list->items, timeout_ms); code != RdKafka::ERR_NO_ERROR) {
      return kafka_error(code, "reading the first and end offsets of partitions assigned to other members");
    }
  }
  for (size_t i = 0; i < ends.items.size(); ++i) {
    for (const RdKafka::TopicPartition* tp : {firsts.items[i], ends.items[i]}) {
      if (tp->err() != RdKafka::ERR_NO_ERROR || tp->offset() < 0) {
        return kafka_error(tp->err() != RdKafka::ERR_NO_ERROR ? tp->err() : RdKafka::ERR__NO_OFFSET,
                           "reading the offsets of " + tp->topic() + "[" + std::to_string(tp->partition()) + "]");
      }
    }
    out[to_sluice(*ends.items[i])] = Watermarks{Offset{firsts.items[i]->offset()}, Offset{ends.items[i]->offset()}};
  }
  return out;
}

Status KafkaSource::close() {
  if (closed_) return {};
  closed_ = true;
  stop_kicker();
  RdKafka::ErrorCode code = consumer_->close();
  if (code != RdKafka::ERR_NO_ERROR) return kafka_error(code, "leaving the consumer group");
  return {};
}

}  // namespace sluice::kafka
