#include "tests/support/workload_checks.h"

#include "tests/support/test_services.h"

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

}  // namespace sluice::testing
