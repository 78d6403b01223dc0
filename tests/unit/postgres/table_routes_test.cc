#include "sinks/postgres/table_routes.h"

#include <gtest/gtest.h>

namespace sluice::pg {
namespace {

ChangeEvent event_on(std::string topic, std::string source_table) {
  ChangeEvent event;
  event.origin.topic = std::move(topic);
  event.source.table = std::move(source_table);
  event.table = TableName{"", "orders"};
  return event;
}

TEST(TableRoutes, TheReplicaAloneByDefault) {
  auto routes = TableRoutes::create(SinkConfig{});
  ASSERT_TRUE(routes) << routes.error().message;
  std::vector<TableTarget> targets;
  ASSERT_TRUE(routes->targets_of(event_on("db.inv.orders", "orders"), targets));
  EXPECT_EQ(targets, (std::vector<TableTarget>{{TableName{"", "orders"}, TableMode::kReplica, true}}));
}

TEST(TableRoutes, HistoryAndChangelogBesideTheReplicaAreNotCounted) {
  SinkConfig config;
  config.history_table_name_format = "history.${source.table}";
  config.changelog_table_name_format = "${topic}_log";
  auto routes = TableRoutes::create(config);
  ASSERT_TRUE(routes) << routes.error().message;
  std::vector<TableTarget> targets;
  ASSERT_TRUE(routes->targets_of(event_on("db.inv.orders", "orders"), targets));
  EXPECT_EQ(targets, (std::vector<TableTarget>{{TableName{"", "orders"}, TableMode::kReplica, true},
                                               {TableName{"history", "orders"}, TableMode::kHistory, false},
                                               {TableName{"", "db_inv_orders_log"}, TableMode::kChangelog, false}}));

  ChangeEvent tombstone = event_on("db.inv.orders", "");
  tombstone.tombstone = true;
  ASSERT_TRUE(routes->targets_of(tombstone, targets));
  EXPECT_EQ(targets.size(), 1u) << "tombstones reach the replica only";

  auto lacking = routes->targets_of(event_on("db.inv.orders", ""), targets);
  ASSERT_FALSE(lacking);
  EXPECT_EQ(lacking.error().error_class, ErrorClass::kRecord);
  EXPECT_NE(lacking.error().message.find("history.table.name.format needs ${source.table}"), std::string::npos)
      << lacking.error().message;
}

TEST(TableRoutes, InsertModeNamesTheModeOfTheTableNameFormatTable) {
  SinkConfig config;
  config.insert_mode = InsertMode::kChangelog;
  auto routes = TableRoutes::create(config);
  ASSERT_TRUE(routes);
  std::vector<TableTarget> targets;
  ASSERT_TRUE(routes->targets_of(event_on("t", "orders"), targets));
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].mode, TableMode::kChangelog);

  config.history_table_name_format = "${nope}";
  auto bad = TableRoutes::create(config);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("history.table.name.format: unknown placeholder ${nope}"), std::string::npos);
}

}  // namespace
}  // namespace sluice::pg
