// OffsetsStore against a real PostgreSQL server: stored offsets never move
// backwards, per consumer group and partition.
#include "sinks/postgres/offsets_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sinks/postgres/connection.h"
#include "tests/support/test_services.h"

namespace {

using sluice::Offset;
using sluice::Partition;
using sluice::PartitionOffset;
using sluice::TopicPartition;
using sluice::pg::Connection;
using sluice::pg::OffsetsStore;
using sluice::testing::postgres;
using sluice::testing::unique_name;

class OffsetsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Connection::open({postgres().create_database(unique_name("offsets")), "", ""});
    ASSERT_TRUE(opened) << opened.error().message;
    connection_ = std::move(*opened);
    ASSERT_TRUE(store_.ensure_table(*connection_));
  }

  void store(std::vector<PartitionOffset> offsets) {
    auto stored = store_.store(*connection_, offsets);
    ASSERT_TRUE(stored) << stored.error().message;
  }

  int64_t load(const TopicPartition& partition, const std::string& group = "group1") {
    auto loaded = store_.load(*connection_, group, {partition});
    EXPECT_TRUE(loaded) << loaded.error().message;
    if (!loaded || !loaded->contains(partition)) return -1;
    return loaded->at(partition).value;
  }

  OffsetsStore store_{"sluice_offsets", "group1"};
  std::unique_ptr<Connection> connection_;
};

// A member that lost its partitions in a rebalance commits an older batch after
// the new owner: the stored offset stays where the new owner put it.
TEST_F(OffsetsStoreTest, OffsetsNeverMoveBackwards) {
  TopicPartition p0{"topic1", Partition{0}};
  store({{p0, Offset{10}}});
  store({{p0, Offset{5}}});
  EXPECT_EQ(load(p0), 10);
  store({{p0, Offset{12}}});
  EXPECT_EQ(load(p0), 12);
  store({{p0, Offset{12}}});
  EXPECT_EQ(load(p0), 12);
}

TEST_F(OffsetsStoreTest, EachPartitionAndGroupMovesOnItsOwn) {
  TopicPartition p0{"topic1", Partition{0}};
  TopicPartition p1{"topic1", Partition{1}};
  store({{p0, Offset{10}}, {p1, Offset{3}}});
  store({{p0, Offset{4}}, {p1, Offset{7}}});  // one statement: p0 stale, p1 ahead
  EXPECT_EQ(load(p0), 10);
  EXPECT_EQ(load(p1), 7);

  OffsetsStore other("sluice_offsets", "group2");
  ASSERT_TRUE(other.store(*connection_, {{p0, Offset{2}}}));
  EXPECT_EQ(load(p0, "group2"), 2);
  EXPECT_EQ(load(p0), 10);
}

}  // namespace
