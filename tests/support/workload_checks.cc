#include "tests/support/workload_checks.h"

#include "tests/support/test_services.h"
#include "workload_producer.h"

namespace sluice::testing {

int64_t rows_differing(const std::string& url, const std::string& table, const workload::DebeziumWorkload& workload) {
  std::string expected = "expected_" + table;
  query(url, "CREATE TABLE IF NOT EXISTS " + expected + " (LIKE " + table + "); TRUNCATE " + expected);
  std::string columns;
  for (const auto& column : workload::DebeziumWorkload::column_names()) {
    columns += (columns.empty() ? "" : ", ") + column;
  }
  copy_in(url, "COPY " + expected + " (" + columns + ") FROM STDIN", workload.expected_copy_text());
  auto count = query_value(url, "SELECT count(*) FROM ((SELECT " + columns + " FROM " + table + " EXCEPT ALL SELECT " +
                                    columns + " FROM " + expected + ") UNION ALL (SELECT " + columns + " FROM " +
                                    expected + " EXCEPT ALL SELECT " + columns + " FROM " + table + ")) AS d");
  return std::stoll(count.value());
}

ProducedWorkload produce_workload(const workload::WorkloadSpec& spec, const std::string& topic) {
  ProducedWorkload out;
  out.workload = std::make_unique<workload::DebeziumWorkload>(workload::DebeziumWorkload::generate(spec));
  auto coordinates = workload::produce(*out.workload, {dev_broker().bootstrap_servers(), topic, {}, 0, SIZE_MAX});
  const auto& records = out.workload->records();
  for (size_t i = 0; i < records.size(); ++i) {
    auto [partition, offset] = coordinates[i];
    out.end_offsets[partition] = std::max(out.end_offsets[partition], offset + 1);
    if (!records[i].invalid.empty()) out.malformed.insert({partition, offset});
  }
  return out;
}

ProducedWorkload produce_20k_workload(const std::string& topic) {
  workload::WorkloadSpec spec;
  spec.events = 20'000;
  spec.seed = 20261202;
  spec.partitions = 24;
  dev_broker().create_topic(topic, spec.partitions);
  return produce_workload(spec, topic);
}

}  // namespace sluice::testing
