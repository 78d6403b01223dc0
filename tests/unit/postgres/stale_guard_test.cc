#include "sinks/postgres/stale_guard.h"

#include <gtest/gtest.h>

namespace sluice::pg {
namespace {

ChangeEvent at(PositionKind kind, std::array<uint64_t, 4> parts, int32_t partition = 0, int64_t offset = 0,
               std::string topic = "orders") {
  ChangeEvent event;
  event.source.position.kind = kind;
  event.source.position.parts = parts;
  event.origin.topic = std::move(topic);
  event.origin.partition = Partition{partition};
  event.origin.offset = Offset{offset};
  return event;
}

TEST(StaleGuardPosition, OrdersLikeTheSourceLog) {
  auto lsn = [](uint64_t value) { return encode_position(at(PositionKind::kPostgresLsn, {value, 0, 0, 0})); };
  EXPECT_EQ(lsn(1).size(), kPositionBytes);
  EXPECT_TRUE(position_before(lsn(255), lsn(256))) << "big-endian, so bytes order like numbers";
  EXPECT_FALSE(position_before(lsn(256), lsn(255)));
  EXPECT_FALSE(position_before(lsn(7), lsn(7))) << "equal is not before: a re-delivered event re-applies";
  auto binlog = [](uint64_t file, uint64_t pos, uint64_t row) {
    return encode_position(at(PositionKind::kMysqlBinlog, {file, pos, row, 0}));
  };
  EXPECT_TRUE(position_before(binlog(3, 900, 0), binlog(4, 4, 0))) << "a later binlog file is later";
  EXPECT_TRUE(position_before(binlog(4, 4, 0), binlog(4, 4, 1))) << "rows of one event are ordered";
}

TEST(StaleGuardPosition, DifferentKindsOrDomainsAreNotComparable) {
  std::string lsn = encode_position(at(PositionKind::kPostgresLsn, {5, 0, 0, 0}));
  std::string time = encode_position(at(PositionKind::kTimestamp, {9, 0, 0, 0}));
  EXPECT_FALSE(position_before(lsn, time));
  EXPECT_FALSE(position_before(time, lsn));
  // Without a source position: the Kafka offset, within one topic partition only.
  std::string p0 = encode_position(at(PositionKind::kNone, {}, 0, 10));
  std::string p0_later = encode_position(at(PositionKind::kNone, {}, 0, 11));
  std::string p1 = encode_position(at(PositionKind::kNone, {}, 1, 50));
  std::string other_topic = encode_position(at(PositionKind::kNone, {}, 0, 50, "customers"));
  EXPECT_TRUE(position_before(p0, p0_later));
  EXPECT_FALSE(position_before(p0, p1));
  EXPECT_FALSE(position_before(p0, other_topic));
  EXPECT_FALSE(position_before("short", p0)) << "malformed positions never make an event stale";
}

}  // namespace
}  // namespace sluice::pg
