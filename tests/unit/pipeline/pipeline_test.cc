// The pipeline's delivery guarantee with in-memory parts: order of effects,
// retries without dead-lettering, errors.tolerance = none, batch bounds.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sluice {
namespace {

// Scripts a partition loss while a batch is being applied: the sink waits in
// apply() until the source has told the pipeline the partition is lost.
struct LossScript {
  int partition = -1;  // the partition to lose; -1: no loss
  std::mutex mutex;
  std::condition_variable changed;
  bool applying = false;
  bool lost = false;
};

// Records of one topic, served in order; everything is assigned at once.
class FakeSource : public Source {
 public:
  FakeSource(PartitionListener& listener, std::string topic, int partitions) : listener_(listener), topic_(topic) {
    for (int p = 0; p < partitions; ++p) assignment_.push_back({topic, Partition{p}});
  }
  void add(int partition, std::optional<std::string> value) {
    int64_t offset = static_cast<int64_t>(log_[partition].size());
    log_[partition].push_back(RawRecord::copy_of(topic_, Partition{partition}, Offset{offset}, 0, "k", std::move(value)));
  }
  Result<std::vector<RawRecord>> poll(size_t max_records, std::chrono::milliseconds) override {
    if (!assigned_) {
      assigned_ = true;
      auto stored = listener_.on_assigned(assignment_);
      if (!stored) return stored.take_error();
      // Like Kafka: without a stored offset, the group's committed one, else the beginning.
      for (const auto& tp : assignment_) {
        auto it = stored->find(tp);
        auto committed = group_offsets.find(tp.partition.value);
        if (it != stored->end()) {
          position_[tp.partition.value] = it->second == kFromBeginning ? 0 : it->second.value;
        } else if (committed != group_offsets.end()) {
          position_[tp.partition.value] = committed->second;
        }
      }
    }
    if (withheld_ && std::chrono::steady_clock::now() >= hand_over_at_) {
      // The member that held it left; the rebalance hands it to this one.
      TopicPartition tp{topic_, Partition{*withheld_}};
      withheld_.reset();
      auto stored = listener_.on_assigned({tp});
      if (!stored) return stored.take_error();
      auto it = stored->find(tp);
      position_[tp.partition.value] = it != stored->end() && it->second != kFromBeginning ? it->second.value : 0;
      assignment_.push_back(tp);
    }
    std::vector<RawRecord> out;
    if (loss_ != nullptr) {
      std::unique_lock lock(loss_->mutex);
      if (loss_->applying && !loss_->lost) {
        lock.unlock();
        TopicPartition gone{topic_, Partition{loss_->partition}};
        listener_.on_revoked({gone}, /*lost=*/true);
        std::erase(assignment_, gone);
        log_.erase(loss_->partition);
        lock.lock();
        loss_->lost = true;
        loss_->changed.notify_all();
      }
    }
    if (paused_) return out;
    for (auto& [partition, records] : log_) {
      if (withheld_ == partition) continue;
      int64_t& position = position_[partition];
      while (out.size() < max_records && position < static_cast<int64_t>(records.size())) {
        out.push_back(records[static_cast<size_t>(position++)]);
      }
    }
    return out;
  }
  Status commit(const std::vector<PartitionOffset>& offsets) override {
    for (const auto& po : offsets) group_offsets[po.partition.partition.value] = po.next.value;
    return {};
  }
  void pause_all() override { paused_ = true; }
  void resume_all() override { paused_ = false; }
  std::vector<TopicPartition> assignment() const override { return assignment_; }
  Result<std::map<TopicPartition, Watermarks>> watermarks(const std::vector<TopicPartition>& partitions,
                                                          std::chrono::milliseconds) override {
    std::map<TopicPartition, Watermarks> out;
    for (const auto& tp : partitions) {
      out[tp] = end_of(tp.partition.value);
    }
    return out;
  }
  std::optional<Offset> next_offset(const TopicPartition& tp) override {
    auto it = position_.find(tp.partition.value);
    if (it == position_.end()) return std::nullopt;
    // At the end, like a partition EOF: past a trailing transaction marker.
    if (it->second == static_cast<int64_t>(log_[tp.partition.value].size())) return end_of(tp.partition.value).high;
    return Offset{it->second};
  }
  Result<std::map<TopicPartition, Watermarks>> watermarks_elsewhere(std::chrono::milliseconds) override {
    std::map<TopicPartition, Watermarks> out;
    if (withheld_) out[{topic_, Partition{*withheld_}}] = end_of(*withheld_);
    return out;
  }
  Status close() override {
    if (!closed_) listener_.on_revoked(assignment_, false);
    closed_ = true;
    return {};
  }

  // `partition` belongs to another member until `after` from now, when that
  // member is gone and the partition is assigned to this one.
  void withhold(int partition, std::chrono::milliseconds after) {
    withheld_ = partition;
    hand_over_at_ = std::chrono::steady_clock::now() + after;
    std::erase(assignment_, TopicPartition{topic_, Partition{partition}});
  }

  // The log of `partition` ends with a transaction marker: an offset past the
  // last record that is never delivered.
  void end_with_marker(int partition) { markers_.insert(partition); }
  Watermarks end_of(int partition) {
    return Watermarks{Offset{0}, Offset{static_cast<int64_t>(log_[partition].size()) +
                                        (markers_.contains(partition) ? 1 : 0)}};
  }

  std::map<int, int64_t> group_offsets;
  LossScript* loss_ = nullptr;

 private:
  PartitionListener& listener_;
  std::string topic_;
  std::vector<TopicPartition> assignment_;
  std::map<int, std::vector<RawRecord>> log_;
  std::map<int, int64_t> position_;
  std::set<int> markers_;  // partitions whose log ends with a transaction marker
  bool assigned_ = false;
  std::optional<int> withheld_;
  std::chrono::steady_clock::time_point hand_over_at_;
  bool paused_ = false;
  bool closed_ = false;
};

// Events of what happened, in order, across the sink and the dead-letter sink.
struct Journal {
  std::vector<std::string> effects;
};

class FakeSink : public Sink {
 public:
  // The record's value; a tombstone as "tombstone@<its table>".
  static std::string value_of(const BatchEntry& entry) {
    return entry.raw.value ? std::string(*entry.raw.value) : "tombstone@" + entry.event.table.display();
  }

  explicit FakeSink(Journal& journal) : journal_(journal) {}
  int transient_failures = 0;          // fail this many applies first
  LossScript* loss = nullptr;
  std::set<std::string> refused_values;  // rows the "database" refuses
  std::map<std::string, int> applied_values;
  std::vector<std::string> applied_order;
  std::map<TopicPartition, Offset> stored;
  // Each offset stored, with how many values had been applied when it was.
  struct Store {
    TopicPartition partition;
    Offset next;
    size_t applied_before;
  };
  std::vector<Store> stores;
  size_t max_batch = 0;

  Result<ApplyStats> apply(const Batch& batch, const BeforeCommit& before_commit) override {
    if (loss != nullptr && loss->partition >= 0) {
      std::unique_lock lock(loss->mutex);
      if (!loss->applying) {
        loss->applying = true;
        loss->changed.wait_for(lock, std::chrono::seconds(10), [&] { return loss->lost; });
      }
    }
    if (transient_failures > 0) {
      --transient_failures;
      return Error::transient("connection_lost", "server closed the connection");
    }
    max_batch = std::max(max_batch, batch.entries.size() + batch.rejects.size());
    ApplyStats stats;
    for (size_t i = 0; i < batch.entries.size(); ++i) {
      std::string value = value_of(batch.entries[i]);
      if (refused_values.contains(value)) {
        stats.rejects.push_back({i, Reject{Stage::kSink, "23514 check_violation", "t", "", "check failed"}});
      }
    }
    if (auto status = before_commit(stats.rejects); !status) return status.take_error();
    for (size_t i = 0; i < batch.entries.size(); ++i) {
      std::string value = value_of(batch.entries[i]);
      if (!refused_values.contains(value)) {
        ++applied_values[value];
        applied_order.push_back(value);
        ++stats.applied;
      }
    }
    for (const auto& po : batch.offsets) {
      stored[po.partition] = po.next;
      stores.push_back({po.partition, po.next, applied_order.size()});
    }
    journal_.effects.push_back("commit");
    return stats;
  }
  Result<std::map<TopicPartition, Offset>> load_offsets(const std::string&,
                                                        const std::vector<TopicPartition>& partitions) override {
    std::map<TopicPartition, Offset> out;
    for (const auto& tp : partitions) {
      if (auto it = stored.find(tp); it != stored.end()) out.insert(*it);
    }
    return out;
  }

 private:
  Journal& journal_;
};

class FakeDeadLetters : public DeadLetterSink {
 public:
  explicit FakeDeadLetters(Journal& journal) : journal_(journal) {}
  int flush_failures = 0;
  std::vector<std::pair<std::string, Reject>> durable;

  Status send(const RawRecord& record, const Reject& reject, int) override {
    pending_.emplace_back(record.value ? std::string(*record.value) : "<tombstone>", reject);
    return {};
  }
  Status flush(std::chrono::milliseconds) override {
    if (flush_failures > 0) {
      --flush_failures;
      pending_.clear();  // lost in the outage; the pipeline must send again
      return Error::transient("_MSG_TIMED_OUT", "broker down");
    }
    for (auto& item : pending_) {
      journal_.effects.push_back("dlq:" + item.first);
      durable.push_back(std::move(item));
    }
    pending_.clear();
    return {};
  }

 private:
  Journal& journal_;
  std::vector<std::pair<std::string, Reject>> pending_;
};

Result<ChangeEvent> decode(const RawRecord& record) {
  if (!record.value || record.value->starts_with("bad")) return Error::record("malformed_json", "value: not JSON");
  ChangeEvent event;
  event.op = record.value->starts_with("message") ? Op::kMessage : Op::kCreate;
  event.origin.topic = std::string(record.topic);
  return event;
}

struct Harness {
  Config config;
  Journal journal;
  metrics::Registry registry;
  FakeSink sink{journal};
  FakeDeadLetters dead_letters{journal};
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<FakeSource> source;

  explicit Harness(int partitions = 2, const std::string& table_format = "${topic}",
                   DecodeFunction decoder = decode) {
    config.kafka.properties["group.id"] = "g";
    config.pipeline.batch_size = 4;
    config.pipeline.batch_max_wait = std::chrono::milliseconds(1);
    config.errors.retry_backoff_initial = std::chrono::milliseconds(1);
    config.errors.retry_backoff_max = std::chrono::milliseconds(2);
    pipeline = std::make_unique<Pipeline>(config, *Router::create(table_format),
                                          PipelineParts{{ApplyLane{&sink, &dead_letters}}, decoder, {}, nullptr, {}, &registry});
    source = std::make_unique<FakeSource>(*pipeline, "orders", partitions);
    pipeline->attach(*source);
  }

  // "p0-0", "p1-0", "p0-1", ...: `per_partition` records into each of partitions 0 and 1.
  void add_to_both(int per_partition) {
    for (int i = 0; i < per_partition; ++i) {
      source->add(0, "p0-" + std::to_string(i));
      source->add(1, "p1-" + std::to_string(i));
    }
  }
};

// "table:row" values name their source table; null values are tombstones.
Result<ChangeEvent> decode_with_source_table(const RawRecord& record) {
  ChangeEvent event;
  event.origin.topic = std::string(record.topic);
  if (!record.value) {
    event.op = Op::kDelete;
    event.tombstone = true;
    return event;
  }
  event.op = Op::kCreate;
  event.source.table = std::string(record.value->substr(0, record.value->find(':')));
  return event;
}

TEST(Pipeline, TombstonesGoToTheirTopicsTableOnlyWhenTheTopicFeedsOneTable) {
  Harness h(2, "${source.table}", decode_with_source_table);
  h.source->add(0, std::nullopt);  // before any event names the table: skipped
  h.source->add(0, "items:1");
  h.source->add(0, std::nullopt);
  h.source->add(1, "items:2");
  h.source->add(1, "orders:3");  // the topic now feeds two tables
  h.source->add(1, std::nullopt);
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_EQ(h.sink.applied_values, (std::map<std::string, int>{{"items:1", 1}, {"items:2", 1}, {"orders:3", 1},
                                                                {"tombstone@items", 1}}));
  EXPECT_TRUE(h.dead_letters.durable.empty()) << "an unroutable tombstone is not a bad record";
  EXPECT_EQ(h.pipeline->counters().skipped.load(), 2u);
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{1}}), Offset{3});
}

TEST(Pipeline, APartitionWithoutAStoredOffsetStartsFromTheBeginningOnceItsTopicHasStoredOffsets) {
  Harness h;
  h.add_to_both(5);
  // The database kept partition 0's offset but lost partition 1's, which the
  // group had committed (the database was restored to an earlier state).
  h.sink.stored[{"orders", Partition{0}}] = Offset{2};
  h.source->group_offsets[1] = 3;
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_EQ(h.sink.applied_values, (std::map<std::string, int>{{"p0-2", 1}, {"p0-3", 1}, {"p0-4", 1}, {"p1-0", 1},
                                                                {"p1-1", 1}, {"p1-2", 1}, {"p1-3", 1}, {"p1-4", 1}}));
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{1}}), Offset{5});
}

TEST(Pipeline, WithNoStoredOffsetsTheGroupsCommittedOffsetsAreUsed) {
  Harness h;
  h.add_to_both(3);
  // Moving from another consumer of the same group: start where it stopped.
  h.source->group_offsets[0] = 1;
  h.source->group_offsets[1] = 2;
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_EQ(h.sink.applied_values, (std::map<std::string, int>{{"p0-1", 1}, {"p0-2", 1}, {"p1-2", 1}}));
}

TEST(Pipeline, UntilCaughtUpWaitsForPartitionsOfTheGroupThatNoMemberHoldsYet) {
  Harness h;
  h.add_to_both(3);
  // Partition 1's member left before draining it; the rebalance that hands it
  // over comes long after this member drained partition 0.
  h.source->withhold(1, std::chrono::milliseconds(300));
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_EQ(h.sink.applied_values, (std::map<std::string, int>{{"p0-0", 1}, {"p0-1", 1}, {"p0-2", 1}, {"p1-0", 1},
                                                                {"p1-1", 1}, {"p1-2", 1}}));
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{1}}), Offset{3});
}

TEST(Pipeline, UntilCaughtUpEndsOnceTheOtherMembersPartitionsAreStoredToTheirEnd) {
  Harness h;
  h.add_to_both(3);
  h.sink.stored[{"orders", Partition{1}}] = Offset{3};  // drained by the member that holds it
  h.source->withhold(1, std::chrono::seconds(5));
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4)) << "did not wait for the hand-over";
  EXPECT_EQ(h.sink.applied_values, (std::map<std::string, int>{{"p0-0", 1}, {"p0-1", 1}, {"p0-2", 1}}));
}

TEST(Pipeline, UntilCaughtUpEndsWhenTheGroupsCommittedOffsetsAreAlreadyAtTheEnd) {
  Harness h;
  h.add_to_both(3);
  // Moving from another consumer of the group that read everything: nothing
  // to apply, nothing stored, and nothing to wait for.
  h.source->group_offsets[0] = 3;
  h.source->group_offsets[1] = 3;
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_TRUE(h.sink.applied_values.empty());
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{0}}), Offset{3}) << "where it started, stored for the group";
  std::string text = h.registry.render();
  EXPECT_NE(text.find("sluice_consumer_lag{topic=\"orders\",partition=\"0\"} 0\n"), std::string::npos) << text;
}

TEST(Pipeline, UntilCaughtUpEndsWhenOnlyATransactionMarkerFollowsTheLastRecord) {
  Harness h;
  h.add_to_both(3);
  h.source->end_with_marker(1);  // written by a transactional producer (Debezium exactly-once)
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{1}}), Offset{4})
      << "stored past the marker, where every member and a restart look";
  std::string text = h.registry.render();
  EXPECT_NE(text.find("sluice_consumer_lag{topic=\"orders\",partition=\"1\"} 0\n"), std::string::npos)
      << "a marker is no lag\n" << text;
}

TEST(Pipeline, AMarkerAfterAPartitionsLastRecordIsStoredWhileOtherPartitionsKeepThePipelineBusy) {
  Harness h;
  for (int i = 0; i < 3; ++i) h.source->add(0, "p0-" + std::to_string(i));
  h.source->end_with_marker(0);
  constexpr size_t kBacklog = 200;
  for (size_t i = 0; i < kBacklog; ++i) h.source->add(1, "p1-" + std::to_string(i));
  ASSERT_TRUE(h.pipeline->run(true));
  const TopicPartition p0{"orders", Partition{0}};
  auto end_stored = std::find_if(h.sink.stores.begin(), h.sink.stores.end(),
                                 [&](const FakeSink::Store& store) { return store.partition == p0 && store.next == Offset{4}; });
  ASSERT_NE(end_stored, h.sink.stores.end());
  EXPECT_LT(end_stored->applied_before, kBacklog / 2)
      << "stored with a batch of the backlog, not once the pipeline went idle at the end";
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{1}}), Offset{static_cast<int64_t>(kBacklog)});
  for (const auto& store : h.sink.stores) {
    if (store.partition == p0) {
      EXPECT_LE(store.next, Offset{4});
    }
  }
}

TEST(Pipeline, AppliesGoodRecordsDeadLettersBadOnesAndStoresEndOffsets) {
  Harness h;
  for (int i = 0; i < 10; ++i) h.source->add(i % 2, i == 3 || i == 8 ? "bad" + std::to_string(i) : "v" + std::to_string(i));
  h.source->add(1, "message-1");
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_EQ(h.sink.applied_values.size(), 8u);
  for (const auto& [value, times] : h.sink.applied_values) EXPECT_EQ(times, 1) << value;
  ASSERT_EQ(h.dead_letters.durable.size(), 2u);
  EXPECT_EQ(h.dead_letters.durable[0].second.stage, Stage::kDecode);
  EXPECT_EQ(h.dead_letters.durable[0].second.rule, "malformed_json");
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{0}}), Offset{5});
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{1}}), Offset{6});
  EXPECT_EQ(h.source->group_offsets.at(1), 6);
  EXPECT_EQ(h.pipeline->counters().skipped.load(), 1u);
  EXPECT_LE(h.sink.max_batch, 4u);
}

TEST(Pipeline, RejectsAreDurableBeforeTheirBatchCommits) {
  Harness h(1);
  h.source->add(0, "v0");
  h.source->add(0, "bad1");
  ASSERT_TRUE(h.pipeline->run(true));
  ASSERT_EQ(h.journal.effects.size(), 2u);
  EXPECT_EQ(h.journal.effects[0], "dlq:bad1");
  EXPECT_EQ(h.journal.effects[1], "commit");
}

TEST(Pipeline, TransientFailuresAreRetriedWithoutDeadLetteringOrDoubleApply) {
  Harness h(1);
  h.sink.transient_failures = 3;
  h.dead_letters.flush_failures = 2;
  for (int i = 0; i < 6; ++i) h.source->add(0, i == 2 ? "bad" : "v" + std::to_string(i));
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_EQ(h.sink.applied_values.size(), 5u);
  for (const auto& [value, times] : h.sink.applied_values) EXPECT_EQ(times, 1) << value;
  ASSERT_EQ(h.dead_letters.durable.size(), 1u);
  EXPECT_EQ(h.dead_letters.durable[0].first, "bad");
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{0}}), Offset{6});
  EXPECT_GE(h.pipeline->counters().transient_errors.load(), 5u);
}

TEST(Pipeline, RowsTheSinkRefusesGoToTheDeadLetterTopicWithStageSink) {
  Harness h(1);
  h.sink.refused_values = {"v1"};
  for (int i = 0; i < 3; ++i) h.source->add(0, "v" + std::to_string(i));
  ASSERT_TRUE(h.pipeline->run(true));
  ASSERT_EQ(h.dead_letters.durable.size(), 1u);
  EXPECT_EQ(h.dead_letters.durable[0].first, "v1");
  EXPECT_EQ(h.dead_letters.durable[0].second.stage, Stage::kSink);
  EXPECT_EQ(h.sink.applied_values.size(), 2u);
}

TEST(Pipeline, ToleranceNoneStopsAtTheFirstRejectCommittingOnlyWhatCameBefore) {
  Harness h(1);
  h.config.errors.tolerance = ErrorsTolerance::kNone;
  h.config.pipeline.batch_size = 100;
  for (int i = 0; i < 6; ++i) h.source->add(0, i == 3 ? "bad" : "v" + std::to_string(i));
  Status status = h.pipeline->run(true);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("orders[0]@3"), std::string::npos) << status.error().message;
  EXPECT_TRUE(h.dead_letters.durable.empty());
  EXPECT_EQ(h.sink.applied_values.size(), 3u);
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{0}}), Offset{3});
}

TEST(Pipeline, ToleranceNoneStopsBeforeARejectedLastRecordEvenWithTheEndReached) {
  Harness h(1);
  h.config.errors.tolerance = ErrorsTolerance::kNone;
  h.config.pipeline.batch_size = 100;
  for (int i = 0; i < 6; ++i) h.source->add(0, i == 5 ? "bad" : "v" + std::to_string(i));
  h.source->end_with_marker(0);
  ASSERT_FALSE(h.pipeline->run(true));
  EXPECT_EQ(h.sink.applied_values.size(), 5u);
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{0}}), Offset{5}) << "a restart reads the rejected record again";
}

TEST(Pipeline, ARestartFindsNothingToDo) {
  Harness first(1);
  for (int i = 0; i < 5; ++i) first.source->add(0, "v" + std::to_string(i));
  ASSERT_TRUE(first.pipeline->run(true));

  Harness second(1);
  second.sink.stored = first.sink.stored;
  for (int i = 0; i < 5; ++i) second.source->add(0, "v" + std::to_string(i));
  ASSERT_TRUE(second.pipeline->run(true));
  EXPECT_TRUE(second.sink.applied_values.empty());
  EXPECT_EQ(second.pipeline->counters().consumed.load(), 0u);
}

TEST(Pipeline, MetricsCountWhatHappenedAndShowTheLagDrained) {
  Harness h;
  h.sink.transient_failures = 1;
  for (int i = 0; i < 10; ++i) h.source->add(i % 2, i == 3 || i == 8 ? "bad" + std::to_string(i) : "v" + std::to_string(i));
  h.source->add(1, "message-1");
  ASSERT_TRUE(h.pipeline->run(true));
  const metrics::Registry& r = h.registry;
  EXPECT_EQ(r.value("sluice_events_consumed_total", {{"topic", "orders"}}), 11);
  EXPECT_EQ(r.value("sluice_events_applied_total"), 8);
  EXPECT_EQ(r.value("sluice_events_rejected_total", {{"stage", "decode"}}), 2);
  EXPECT_EQ(r.value("sluice_events_rejected_total", {{"stage", "validate"}}), 0);
  EXPECT_EQ(r.value("sluice_events_skipped_total"), 1);
  EXPECT_EQ(r.value("sluice_dead_letter_records_total"), 2);
  EXPECT_EQ(r.value("sluice_transient_errors_total", {{"where", "sink"}, {"reason", "connection_lost"}}), 1);
  EXPECT_EQ(r.value("sluice_retries_total", {{"where", "sink"}}), 1);
  EXPECT_EQ(r.value("sluice_table_events_total", {{"table", "orders"}, {"op", "c"}}), 8);
  EXPECT_GT(r.value("sluice_table_last_commit_timestamp_seconds", {{"table", "orders"}}), 1.7e9);
  EXPECT_EQ(r.value("sluice_postgres_up"), 1);
  EXPECT_EQ(r.value("sluice_pipeline_running"), 0) << "run() has returned";
  std::string text = r.render();
  // The lag published before leaving the group: every partition drained.
  EXPECT_NE(text.find("sluice_consumer_lag{topic=\"orders\",partition=\"0\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_consumer_lag{topic=\"orders\",partition=\"1\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_batch_size_count "), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_batch_apply_duration_seconds_bucket{le=\"+Inf\"} "), std::string::npos) << text;
}

TEST(Pipeline, WorkOfPartitionsLostDuringTheApplyIsNeverCommitted) {
  Harness h;
  h.config.pipeline.batch_size = 8;  // one batch holds both partitions
  LossScript loss;
  loss.partition = 1;
  h.sink.loss = &loss;
  h.source->loss_ = &loss;
  for (int i = 0; i < 8; ++i) h.source->add(i % 2, "v" + std::to_string(i));
  ASSERT_TRUE(h.pipeline->run(true));
  EXPECT_TRUE(loss.lost);
  EXPECT_EQ(h.sink.stored.at({"orders", Partition{0}}), Offset{4});
  EXPECT_FALSE(h.sink.stored.contains({"orders", Partition{1}})) << "the lost partition's offsets are not stored";
  EXPECT_EQ(h.sink.applied_values, (std::map<std::string, int>{{"v0", 1}, {"v2", 1}, {"v4", 1}, {"v6", 1}}))
      << "nor its rows";
}

// Two lanes, each with its own sink and dead-letter sink (journals apart,
// since they run on their own threads).
TEST(Pipeline, LanesApplyDisjointPartitionsInOrderEachStoringItsOwnOffsets) {
  Config config;
  config.kafka.properties["group.id"] = "g";
  config.pipeline.batch_size = 6;
  config.pipeline.batch_max_wait = std::chrono::milliseconds(1);
  config.errors.retry_backoff_initial = std::chrono::milliseconds(1);
  config.errors.retry_backoff_max = std::chrono::milliseconds(2);
  Journal journal_a, journal_b;
  FakeSink sink_a{journal_a}, sink_b{journal_b};
  FakeDeadLetters dead_a{journal_a}, dead_b{journal_b};
  sink_b.transient_failures = 2;  // one lane's retries hold up nothing of the other's
  metrics::Registry registry;
  Pipeline pipeline(config, *Router::create("${topic}"),
                    PipelineParts{{ApplyLane{&sink_a, &dead_a}, ApplyLane{&sink_b, &dead_b}}, decode, {}, nullptr, {},
                                  &registry});
  constexpr int kPartitions = 4, kRecords = 10;
  FakeSource source(pipeline, "orders", kPartitions);
  pipeline.attach(source);
  for (int p = 0; p < kPartitions; ++p) {
    for (int i = 0; i < kRecords; ++i) source.add(p, "p" + std::to_string(p) + ":" + std::to_string(i));
    source.add(p, "bad" + std::to_string(p));
  }
  ASSERT_TRUE(pipeline.run(true));

  for (int p = 0; p < kPartitions; ++p) {
    TopicPartition tp{"orders", Partition{p}};
    const std::string prefix = "p" + std::to_string(p) + ":";
    bool in_a = sink_a.stored.contains(tp), in_b = sink_b.stored.contains(tp);
    ASSERT_NE(in_a, in_b) << "partition " << p << " is stored by exactly one lane";
    FakeSink& owner = in_a ? sink_a : sink_b;
    FakeSink& other = in_a ? sink_b : sink_a;
    EXPECT_EQ(owner.stored.at(tp), Offset{kRecords + 1});
    std::vector<std::string> order;
    for (const std::string& value : owner.applied_order) {
      if (value.starts_with(prefix)) order.push_back(value);
    }
    ASSERT_EQ(order.size(), static_cast<size_t>(kRecords)) << "each record of partition " << p << " applied once";
    for (int i = 0; i < kRecords; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], prefix + std::to_string(i));
    for (const std::string& value : other.applied_order) EXPECT_FALSE(value.starts_with(prefix)) << value;
    FakeDeadLetters& owner_dead = in_a ? dead_a : dead_b;
    EXPECT_EQ(std::count_if(owner_dead.durable.begin(), owner_dead.durable.end(),
                            [&](const auto& item) { return item.first == "bad" + std::to_string(p); }),
              1)
        << "a reject goes to the dead-letter sink of its partition's lane, once";
    EXPECT_EQ(source.group_offsets.at(p), kRecords + 1);
  }
  EXPECT_FALSE(sink_a.stored.empty());
  EXPECT_FALSE(sink_b.stored.empty()) << "both lanes had work";
  EXPECT_EQ(sink_b.transient_failures, 0);
  EXPECT_EQ(pipeline.counters().applied.load(), static_cast<uint64_t>(kPartitions * kRecords));
  EXPECT_EQ(pipeline.counters().dead_lettered.load(), static_cast<uint64_t>(kPartitions));
}

}  // namespace
}  // namespace sluice
