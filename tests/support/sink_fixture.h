// A gtest fixture for PostgresSink tests against the test PostgreSQL server: a
// fresh database per test, sinks opened on it, batches of topic1 partition 0
// at increasing offsets, and the rows the sink wrote as text. Also the schema
// builders those tests share. Not thread-safe (test thread).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sinks/postgres/postgres_sink.h"
#include "sluice/batch.h"
#include "sluice/change_event.h"
#include "sluice/config.h"

namespace sluice::testing {

using Schema = std::shared_ptr<const RowSchema>;

// A schema of `columns`.
Schema schema(std::vector<Column> columns);
// A column `name` of `type`, nullable unless `optional` is false.
Column col(std::string name, FieldType type, bool optional = true);

class SinkFixture : public ::testing::Test {
 protected:
  // `database_prefix` names each test's database.
  explicit SinkFixture(std::string database_prefix) : database_prefix_(std::move(database_prefix)) {}

  // Creates the test's database at url_.
  void SetUp() override;

  // A sink on url_ for consumer group "group1"; nullptr (and a failure) when it cannot open.
  std::unique_ptr<pg::PostgresSink> open(const SinkConfig& config = {});
  // An event `op` on table `table` (no schema name) at offset next_offset_ of topic1
  // partition 0, which it advances; the caller adds key and images.
  BatchEntry next_entry(Op op, const std::string& table);
  // A batch of `entries` whose offsets end at next_offset_ of topic1 partition 0.
  Batch batch(std::vector<BatchEntry> entries) const;
  // The rows of `sql` on url_ as text (see testing::rows).
  std::string rows(const std::string& sql) const;
  // A reject callback for batches expected to have none: accepts and ignores them.
  static Status no_rejects(std::span<const SinkReject>) { return {}; }

  std::string url_;
  int64_t next_offset_ = 100;

 private:
  std::string database_prefix_;
};

}  // namespace sluice::testing
