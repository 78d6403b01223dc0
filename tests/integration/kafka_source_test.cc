// KafkaSource against the dev broker: positions from the stored offsets,
// zero-copy records with headers, revocation reaches the listener.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/kafka_source.h"
#include "tests/support/test_services.h"

namespace sluice {
namespace {

using testing::dev_broker;
using testing::unique_name;

// A client configuration for the dev broker, `group` set when not empty.
std::unique_ptr<RdKafka::Conf> dev_broker_conf(const std::string& group = "") {
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", dev_broker().bootstrap_servers(), error);
  if (!group.empty()) conf->set("group.id", group, error);
  return conf;
}

void produce(const std::string& topic, int partitions, int per_partition) {
  std::string error;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(dev_broker_conf().get(), error));
  for (int p = 0; p < partitions; ++p) {
    for (int i = 0; i < per_partition; ++i) {
      std::string value = std::to_string(p) + ":" + std::to_string(i);
      RdKafka::Headers* headers = RdKafka::Headers::create();
      headers->add("source", "test");
      ASSERT_EQ(producer->produce(topic, p, RdKafka::Producer::RK_MSG_COPY, value.data(), value.size(), "k", 1, 0,
                                  headers, nullptr),
                RdKafka::ERR_NO_ERROR);
    }
  }
  ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);
}

class RecordingListener : public PartitionListener {
 public:
  std::map<TopicPartition, Offset> stored;
  std::set<TopicPartition> revoked;
  Result<std::map<TopicPartition, Offset>> on_assigned(const std::vector<TopicPartition>& partitions) override {
    std::map<TopicPartition, Offset> out;
    for (const auto& tp : partitions) {
      if (auto it = stored.find(tp); it != stored.end()) out.insert(*it);
    }
    return out;
  }
  void on_revoked(const std::vector<TopicPartition>& partitions, bool) override {
    revoked.insert(partitions.begin(), partitions.end());
  }
};

KafkaConfig consumer_config(const std::string& topic, const std::string& group) {
  KafkaConfig config;
  config.topics = {topic};
  // Short group timeouts so the mock coordinator rebalances in seconds.
  config.properties = {{"bootstrap.servers", dev_broker().bootstrap_servers()},
                       {"group.id", group},
                       {"session.timeout.ms", "6000"},
                       {"heartbeat.interval.ms", "500"},
                       {"max.poll.interval.ms", "10000"}};
  return config;
}

TEST(KafkaSource, StartsAtStoredOffsetsAndDeliversRecordsWithHeaders) {
  std::string topic = unique_name("source");
  dev_broker().create_topic(topic, 4);
  produce(topic, 4, 25);
  RecordingListener listener;
  listener.stored[{topic, Partition{0}}] = Offset{10};
  listener.stored[{topic, Partition{3}}] = Offset{25};  // fully applied already
  auto source = kafka::KafkaSource::create(consumer_config(topic, unique_name("group")), listener);
  ASSERT_TRUE(source) << source.error().message;

  std::map<int, std::vector<int64_t>> offsets_by_partition;
  size_t total = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (total < 65 && std::chrono::steady_clock::now() < deadline) {
    auto records = (*source)->poll(1000, std::chrono::milliseconds(200));
    ASSERT_TRUE(records) << records.error().message;
    for (const RawRecord& record : *records) {
      EXPECT_EQ(record.topic, topic);
      ASSERT_TRUE(record.value);
      EXPECT_EQ(*record.value, std::to_string(record.partition.value) + ":" + std::to_string(record.offset.value));
      ASSERT_EQ(record.headers.size(), 1u);
      EXPECT_EQ(record.headers[0].key, "source");
      EXPECT_EQ(record.headers[0].value, "test");
      offsets_by_partition[record.partition.value].push_back(record.offset.value);
      ++total;
    }
  }
  EXPECT_EQ(total, 65u);  // 15 + 25 + 25 + 0
  ASSERT_FALSE(offsets_by_partition[0].empty());
  EXPECT_EQ(offsets_by_partition[0].front(), 10);
  EXPECT_EQ(offsets_by_partition[1].size(), 25u);
  EXPECT_TRUE(offsets_by_partition[3].empty());
  for (const auto& [partition, offsets] : offsets_by_partition) {
    for (size_t i = 1; i < offsets.size(); ++i) EXPECT_EQ(offsets[i], offsets[i - 1] + 1) << "partition " << partition;
  }

  // Where the source is: where it was positioned, and once a partition's end
  // is reached, that end: partition 0's with its last record (just below the
  // high watermark), partition 3's, which had nothing to deliver, with its
  // partition EOF, which may come after the others' records.
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (((*source)->next_offset({topic, Partition{0}}) != std::optional<Offset>(Offset{25}) ||
          (*source)->next_offset({topic, Partition{3}}) != std::optional<Offset>(Offset{25})) &&
         std::chrono::steady_clock::now() < deadline) {
    auto more = (*source)->poll(1000, std::chrono::milliseconds(100));
    ASSERT_TRUE(more);
    EXPECT_TRUE(more->empty());
  }
  EXPECT_EQ((*source)->next_offset({topic, Partition{0}}), std::optional<Offset>(Offset{25}));
  EXPECT_EQ((*source)->next_offset({topic, Partition{3}}), std::optional<Offset>(Offset{25}));

  auto ends = (*source)->watermarks({{topic, Partition{0}}}, std::chrono::seconds(5));
  ASSERT_TRUE(ends) << ends.error().message;
  EXPECT_EQ(ends->at({topic, Partition{0}}).high, Offset{25});
  EXPECT_EQ(ends->at({topic, Partition{0}}).low, Offset{0});
  EXPECT_TRUE((*source)->commit({{{topic, Partition{0}}, Offset{25}}}));
  EXPECT_TRUE((*source)->close());
  EXPECT_EQ(listener.revoked.size(), 4u);
}

TEST(KafkaSource, ALastRecordJustBelowTheHighWatermarkReachesTheEndWithoutTheEmptyFetch) {
  // The EOF event needs a fetch at the end offset, which a broker answers
  // only after fetch.wait.max.ms when no data comes: at the end of a backlog
  // that is dead time before the pipeline may call it drained. Here that
  // fetch cannot answer within the test, so only the watermark tells.
  std::string topic = unique_name("source_end");
  dev_broker().create_topic(topic, 1);
  produce(topic, 1, 20);
  RecordingListener listener;
  KafkaConfig config = consumer_config(topic, unique_name("group"));
  config.properties["fetch.wait.max.ms"] = "30000";
  auto source = kafka::KafkaSource::create(config, listener);
  ASSERT_TRUE(source) << source.error().message;
  const TopicPartition tp{topic, Partition{0}};
  int64_t delivered = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (delivered < 20 && std::chrono::steady_clock::now() < deadline) {
    // A few at a time: polls that end below the end must not report one.
    auto records = (*source)->poll(7, std::chrono::milliseconds(200));
    ASSERT_TRUE(records) << records.error().message;
    for (const RawRecord& record : *records) {
      EXPECT_EQ(record.offset, Offset{delivered});
      ++delivered;
    }
    if (delivered < 20) {
      EXPECT_EQ((*source)->next_offset(tp), std::nullopt) << "after " << delivered << " records";
    }
  }
  ASSERT_EQ(delivered, 20);
  EXPECT_EQ((*source)->next_offset(tp), std::optional<Offset>(Offset{20}));
  EXPECT_TRUE((*source)->close());
}

// Commits `offset` of `partition` for `group` as another consumer of the group would have.
void commit_for_group(const std::string& group, const std::string& topic, int partition, int64_t offset) {
  std::string error;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(dev_broker_conf(group).get(), error));
  ASSERT_TRUE(consumer) << error;
  std::vector<RdKafka::TopicPartition*> offsets = {RdKafka::TopicPartition::create(topic, partition, offset)};
  EXPECT_EQ(consumer->commitSync(offsets), RdKafka::ERR_NO_ERROR);
  RdKafka::TopicPartition::destroy(offsets);
  consumer->close();
}

TEST(KafkaSource, WithNothingStoredStartsAtTheGroupsCommittedOffsetElseWhereTheResetPolicySays) {
  std::string topic = unique_name("source_unstored");
  dev_broker().create_topic(topic, 2);
  produce(topic, 2, 10);
  std::string group = unique_name("group");
  commit_for_group(group, topic, 1, 6);
  RecordingListener listener;  // nothing stored in the database
  KafkaConfig config = consumer_config(topic, group);
  config.properties["auto.offset.reset"] = "latest";
  auto source = kafka::KafkaSource::create(config, listener);
  ASSERT_TRUE(source) << source.error().message;

  // Partition 1 from its committed offset; partition 0, never committed, from
  // its end: nothing, however long it is polled.
  std::map<int, std::vector<int64_t>> offsets_by_partition;
  auto poll_for = [&](std::chrono::seconds how_long, size_t enough) {
    auto deadline = std::chrono::steady_clock::now() + how_long;
    size_t total = 0;
    while (total < enough && std::chrono::steady_clock::now() < deadline) {
      auto records = (*source)->poll(100, std::chrono::milliseconds(100));
      ASSERT_TRUE(records) << records.error().message;
      for (const RawRecord& record : *records) {
        offsets_by_partition[record.partition.value].push_back(record.offset.value);
        ++total;
      }
    }
  };
  poll_for(std::chrono::seconds(30), 4);
  poll_for(std::chrono::seconds(2), 1);
  EXPECT_EQ(offsets_by_partition[1], (std::vector<int64_t>{6, 7, 8, 9}));
  EXPECT_TRUE(offsets_by_partition[0].empty());
  EXPECT_TRUE((*source)->close());
}

TEST(KafkaSource, ASecondMemberTakesPartitionsThroughRevocation) {
  std::string topic = unique_name("source_rebalance");
  dev_broker().create_topic(topic, 4);
  produce(topic, 4, 5);
  std::string group = unique_name("group");
  RecordingListener first_listener, second_listener;
  auto first = kafka::KafkaSource::create(consumer_config(topic, group), first_listener);
  ASSERT_TRUE(first);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((*first)->assignment().size() < 4 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*first)->poll(100, std::chrono::milliseconds(100)));
  }
  ASSERT_EQ((*first)->assignment().size(), 4u);
  auto none_elsewhere = (*first)->watermarks_elsewhere(std::chrono::seconds(5));
  ASSERT_TRUE(none_elsewhere) << none_elsewhere.error().message;
  EXPECT_TRUE(none_elsewhere->empty()) << "the only member holds every partition";

  auto second = kafka::KafkaSource::create(consumer_config(topic, group), second_listener);
  ASSERT_TRUE(second);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (((*first)->assignment().size() + (*second)->assignment().size() != 4 ||
          (*second)->assignment().empty()) &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*first)->poll(100, std::chrono::milliseconds(50)));
    ASSERT_TRUE((*second)->poll(100, std::chrono::milliseconds(50)));
  }
  EXPECT_FALSE((*second)->assignment().empty());
  EXPECT_EQ((*first)->assignment().size() + (*second)->assignment().size(), 4u);
  // What the second member got was revoked from the first through the listener.
  for (const auto& tp : (*second)->assignment()) EXPECT_TRUE(first_listener.revoked.contains(tp));
  // Each member sees the other's partitions, with their offsets, as not its own.
  for (const auto* member : {&*first, &*second}) {
    const auto* other = member == &*first ? &*second : &*first;
    auto elsewhere = (*member)->watermarks_elsewhere(std::chrono::seconds(5));
    ASSERT_TRUE(elsewhere) << elsewhere.error().message;
    std::vector<TopicPartition> partitions;
    for (const auto& [tp, marks] : *elsewhere) {
      partitions.push_back(tp);
      EXPECT_EQ(marks.low, Offset{0});
      EXPECT_EQ(marks.high, Offset{5});
    }
    auto others = (*other)->assignment();
    std::sort(others.begin(), others.end());
    EXPECT_EQ(partitions, others);
  }
  EXPECT_TRUE((*second)->close());
  EXPECT_TRUE((*first)->close());
}

// A partition assigned again below where this member had read it: the source
// must not report the old end as where it is (an --until-caught-up check
// would end early); it reports the end once it is reached again.
TEST(KafkaSource, APartitionAssignedAgainBelowWhereItWasIsNeverReportedAhead) {
  std::string topic = unique_name("source_again");
  dev_broker().create_topic(topic, 2);
  produce(topic, 2, 5);
  std::string group = unique_name("group");
  RecordingListener first_listener, second_listener;
  auto first = kafka::KafkaSource::create(consumer_config(topic, group), first_listener);
  ASSERT_TRUE(first);
  size_t read = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (read < 10 && std::chrono::steady_clock::now() < deadline) {
    auto records = (*first)->poll(100, std::chrono::milliseconds(100));
    ASSERT_TRUE(records);
    read += records->size();
  }
  ASSERT_EQ(read, 10u) << "the first member read both partitions to their end";

  // A second member takes a partition, then leaves; the first gets it back at
  // offset 2, as if only that much had been stored with the rows.
  auto second = kafka::KafkaSource::create(consumer_config(topic, group), second_listener);
  ASSERT_TRUE(second);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((*second)->assignment().empty() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*first)->poll(100, std::chrono::milliseconds(50)));
    ASSERT_TRUE((*second)->poll(100, std::chrono::milliseconds(50)));
  }
  ASSERT_EQ((*second)->assignment().size(), 1u);
  const TopicPartition moved = (*second)->assignment().front();
  first_listener.stored[moved] = Offset{2};
  EXPECT_TRUE((*second)->close());
  int64_t delivered = 0;  // records of `moved` delivered since it came back
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((*first)->assignment().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto records = (*first)->poll(1, std::chrono::milliseconds(50));
    ASSERT_TRUE(records);
    for (const RawRecord& record : *records) delivered += record.partition == moved.partition ? 1 : 0;
  }
  ASSERT_EQ((*first)->assignment().size(), 2u);
  // Until its end is reached again the source says nothing of it; then it
  // stands at the end, having delivered 2, 3 and 4 once more.
  std::optional<Offset> next;
  while (!(next = (*first)->next_offset(moved)) && std::chrono::steady_clock::now() < deadline) {
    auto records = (*first)->poll(1, std::chrono::milliseconds(50));
    ASSERT_TRUE(records);
    for (const RawRecord& record : *records) delivered += record.partition == moved.partition ? 1 : 0;
  }
  EXPECT_EQ(next, std::optional<Offset>(Offset{5}));
  EXPECT_EQ(delivered, 3) << "never ahead of what was delivered since the partition came back";
  EXPECT_TRUE((*first)->close());
}

// Produces `count` records of `bytes` each into `partition`.
void produce_large(const std::string& topic, int partition, int count, size_t bytes) {
  std::string error;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(dev_broker_conf().get(), error));
  std::string value(bytes, 'x');
  for (int i = 0; i < count; ++i) {
    while (producer->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY, value.data(), value.size(), nullptr, 0,
                             0, nullptr) == RdKafka::ERR__QUEUE_FULL) {
      producer->poll(10);
    }
  }
  ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
}

// A member paused long enough to stop fetching loses its partitions (it
// stopped polling for longer than max.poll.interval.ms, as when an outage
// holds the pipeline) and gets them back: once the pipeline resumes, their
// records flow again to the end. librdkafka keeps a pause across the loss:
// resumed while none were assigned, they once came back paused for good.
TEST(KafkaSource, PartitionsPausedWhenLostFlowAgainWhenTheyComeBack) {
  std::string topic = unique_name("source_pause");
  // 48 MB, more than the 32 MB a paused member holds before it stops fetching;
  // the dev broker keeps the last few MB of a partition.
  constexpr int kPartitions = 12;
  constexpr int kPerPartition = 80;
  dev_broker().create_topic(topic, kPartitions);
  for (int p = 0; p < kPartitions; ++p) produce_large(topic, p, kPerPartition, 50 << 10);
  RecordingListener listener;
  auto source = kafka::KafkaSource::create(consumer_config(topic, unique_name("group")), listener);
  ASSERT_TRUE(source) << source.error().message;
  // Paused: records are held until 32 MB are, then fetching stops.
  (*source)->pause_all();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((*source)->assignment().size() < kPartitions && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*source)->poll(100, std::chrono::milliseconds(100)));
  }
  ASSERT_EQ((*source)->assignment().size(), static_cast<size_t>(kPartitions));
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5); std::chrono::steady_clock::now() < until;) {
    ASSERT_TRUE((*source)->poll(100, std::chrono::milliseconds(100)));
  }
  // No poll for longer than max.poll.interval.ms (10 s): the member leaves the
  // group and learns on its next poll that it lost the partitions.
  std::this_thread::sleep_for(std::chrono::seconds(13));
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (listener.revoked.size() < kPartitions && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*source)->poll(100, std::chrono::milliseconds(100)));
  }
  ASSERT_EQ(listener.revoked.size(), static_cast<size_t>(kPartitions));
  // The pipeline resumes as soon as the lost partitions' work is dropped,
  // before they come back.
  ASSERT_TRUE((*source)->assignment().empty());
  (*source)->resume_all();
  std::map<int32_t, int64_t> last_offset;
  auto all_at_end = [&] {
    for (int p = 0; p < kPartitions; ++p) {
      if (last_offset[p] != kPerPartition - 1) return false;
    }
    return true;
  };
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!all_at_end() && std::chrono::steady_clock::now() < deadline) {
    auto records = (*source)->poll(100, std::chrono::milliseconds(100));
    ASSERT_TRUE(records) << records.error().message;
    for (const RawRecord& record : *records) last_offset[record.partition.value] = record.offset.value;
  }
  EXPECT_EQ((*source)->assignment().size(), static_cast<size_t>(kPartitions));
  for (int p = 0; p < kPartitions; ++p) EXPECT_EQ(last_offset[p], kPerPartition - 1) << "partition " << p;
  EXPECT_TRUE((*source)->close());
}

}  // namespace
}  // namespace sluice
