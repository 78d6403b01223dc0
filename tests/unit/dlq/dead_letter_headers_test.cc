#include "dlq/dead_letter_headers.h"

#include <gtest/gtest.h>

#include <map>

namespace sluice::dlq {
namespace {

std::map<std::string, std::optional<std::string>> as_map(const HeaderList& headers) {
  std::map<std::string, std::optional<std::string>> out;
  for (const auto& [key, value] : headers) {
    EXPECT_FALSE(out.contains(key)) << "duplicate header " << key;
    out[key] = value;
  }
  return out;
}

TEST(DeadLetterHeaders, ContextHeadersUseConnectAndSluiceNames) {
  RawRecord record = RawRecord::copy_of("dbserver1.inventory.orders", Partition{3}, Offset{1842}, 1700000000000, "k",
                                        "v", {{"traceparent", "00-abc"}, {"nullable", std::nullopt}});
  Reject reject{Stage::kValidate, "min:0", "orders", "quantity", "quantity = -5 violates min:0"};
  auto headers = as_map(dead_letter_headers(record, reject, {"dbserver1.inventory.orders", 3, 1842, 1, 1700000001234, true}));
  EXPECT_EQ(headers.at("traceparent"), "00-abc");
  EXPECT_EQ(headers.at("nullable"), std::nullopt);
  EXPECT_EQ(headers.at("__connect.errors.topic"), "dbserver1.inventory.orders");
  EXPECT_EQ(headers.at("__connect.errors.partition"), "3");
  EXPECT_EQ(headers.at("__connect.errors.offset"), "1842");
  EXPECT_EQ(headers.at("__connect.errors.stage"), "validate");
  EXPECT_EQ(headers.at("__connect.errors.exception.message"), "quantity = -5 violates min:0");
  EXPECT_EQ(headers.at("sluice.errors.rule"), "min:0");
  EXPECT_EQ(headers.at("sluice.errors.table"), "orders");
  EXPECT_EQ(headers.at("sluice.errors.column"), "quantity");
  EXPECT_EQ(headers.at("sluice.errors.timestamp"), "1700000001234");
  EXPECT_EQ(headers.at("sluice.errors.attempt"), "1");
}

TEST(DeadLetterHeaders, EarlierErrorHeadersAreReplacedOnAReplayFailure) {
  RawRecord record = RawRecord::copy_of("sluice.dlq", Partition{0}, Offset{7}, 0, std::nullopt, "v",
                                        {{"__connect.errors.topic", "orders"}, {"sluice.errors.attempt", "1"}});
  Reject reject{Stage::kSink, "23514 check_violation", "orders", "", "check failed"};
  auto headers = as_map(dead_letter_headers(record, reject, {"orders", 2, 99, 2, 5, true}));
  EXPECT_EQ(headers.at("sluice.errors.attempt"), "2");
  EXPECT_EQ(headers.at("__connect.errors.topic"), "orders");
  EXPECT_EQ(headers.at("__connect.errors.offset"), "99");
  EXPECT_EQ(headers.at("__connect.errors.stage"), "sink");
  EXPECT_FALSE(headers.contains("sluice.errors.column"));  // the reject names no column
}

TEST(DeadLetterHeaders, ContextHeadersCanBeTurnedOff) {
  RawRecord record = RawRecord::copy_of("t", Partition{0}, Offset{0}, 0, std::nullopt, "v", {{"h", "1"}});
  auto headers = dead_letter_headers(record, Reject{}, {"t", 0, 0, 1, 0, false});
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].first, "h");
}

}  // namespace
}  // namespace sluice::dlq
