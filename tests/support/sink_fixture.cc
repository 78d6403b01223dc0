#include "tests/support/sink_fixture.h"

#include <utility>

#include "tests/support/test_services.h"

namespace sluice::testing {

Schema schema(std::vector<Column> columns) {
  auto out = std::make_shared<RowSchema>();
  out->columns = std::move(columns);
  return out;
}

Column col(std::string name, FieldType type, bool optional) {
  Column c;
  c.name = std::move(name);
  c.type = type;
  c.optional = optional;
  return c;
}

void SinkFixture::SetUp() { url_ = postgres().create_database(unique_name(database_prefix_)); }

std::unique_ptr<pg::PostgresSink> SinkFixture::open(const SinkConfig& config) {
  auto sink = pg::PostgresSink::open({url_, "", ""}, config, "group1");
  EXPECT_TRUE(sink) << sink.error().message;
  return sink ? std::move(*sink) : nullptr;
}

BatchEntry SinkFixture::next_entry(Op op, const std::string& table) {
  BatchEntry e;
  e.event.op = op;
  e.event.origin.topic = "topic1";
  e.event.origin.partition = Partition{0};
  e.event.origin.offset = Offset{next_offset_++};
  e.event.table = TableName{"", table};
  return e;
}

Batch SinkFixture::batch(std::vector<BatchEntry> entries) const {
  Batch b;
  b.entries = std::move(entries);
  b.offsets.push_back({{"topic1", Partition{0}}, Offset{next_offset_}});
  return b;
}

std::string SinkFixture::rows(const std::string& sql) const { return testing::rows(url_, sql); }

}  // namespace sluice::testing
