// Data-driven tests: each tests/data/debezium/NAME.json is a Kafka record
// value (NAME.tombstone instead for a null value), NAME.key.json its key, and
// NAME.expected the decoded event in the readable form of describe() below,
// or NAME.error the expected reason (first line) and a fragment of the message
// (optional second line). SLUICE_REGENERATE=1 rewrites the .expected files.
#include "decode/debezium_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sluice {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_binary(FieldType type) {
  return type == FieldType::kBytes || type == FieldType::kBits || type == FieldType::kGeometry;
}

std::string printable(std::string_view text, bool binary) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  if (binary) {
    out = "\\x";
    for (char c : text) {
      out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
      out.push_back(kHex[static_cast<unsigned char>(c) & 15]);
    }
    return out;
  }
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || c == '\\') {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view position_kind(PositionKind kind) {
  switch (kind) {
    case PositionKind::kNone: return "none";
    case PositionKind::kKafkaOffset: return "kafka_offset";
    case PositionKind::kTimestamp: return "timestamp";
    case PositionKind::kPostgresLsn: return "postgres_lsn";
    case PositionKind::kMysqlBinlog: return "mysql_binlog";
    case PositionKind::kSqlServerLsn: return "sqlserver_lsn";
  }
  return "?";
}

void describe_row(std::ostream& out, std::string_view image, const std::optional<Row>& row) {
  if (!row) {
    out << image << ": none\n";
    return;
  }
  out << image << ":\n";
  for (size_t i = 0; i < row->schema->columns.size(); ++i) {
    const Column& c = row->schema->columns[i];
    const Datum& d = row->values[i];
    out << "  " << c.name << " " << to_string(c.type);
    if (c.inferred) out << "?";
    // A Decimal always has a scale, possibly negative; other types carry -1.
    if (c.type == FieldType::kDecimal || c.scale >= 0) out << " scale=" << c.scale;
    if (c.precision >= 0) out << " precision=" << c.precision;
    if (c.type == FieldType::kArray) out << " of " << to_string(c.element_type);
    if (!c.optional) out << " required";
    out << " = ";
    if (d.null) {
      out << "NULL";
    } else {
      out << printable(d.text, is_binary(c.type));
      if (c.type == FieldType::kGeometry) out << " srid=" << d.srid;
    }
    out << "\n";
  }
}

std::string describe(const ChangeEvent& e) {
  std::ostringstream out;
  out << "op: " << to_string(e.op) << "\n";
  out << "tombstone: " << (e.tombstone ? "true" : "false") << "\n";
  out << "origin: " << e.origin.topic << "/" << e.origin.partition.value << "@" << e.origin.offset.value << "\n";
  out << "ts_ms: " << e.ts_ms << "\n";
  const SourceInfo& s = e.source;
  out << "source: connector=" << s.connector << " db=" << s.db << " schema=" << s.schema << " table=" << s.table
      << " ts_ms=" << s.ts_ms << " snapshot=" << (s.snapshot ? "true" : "false") << "\n";
  out << "position: " << position_kind(s.position.kind);
  for (uint64_t p : s.position.parts) out << " " << p;
  out << "\n";
  describe_row(out, "key", e.key);
  describe_row(out, "before", e.before);
  describe_row(out, "after", e.after);
  return out.str();
}

struct Case {
  std::string name;
  fs::path base;  // path without extension
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& entry : fs::directory_iterator(SLUICE_DEBEZIUM_DATA_DIR)) {
    std::string file = entry.path().filename().string();
    std::string name;
    if (file.ends_with(".key.json")) continue;
    if (file.ends_with(".json")) {
      name = file.substr(0, file.size() - 5);
    } else if (file.ends_with(".tombstone")) {
      name = file.substr(0, file.size() - 10);
    } else {
      continue;
    }
    out.push_back(Case{name, entry.path().parent_path() / name});
  }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return out;
}

std::string with_ext(const fs::path& base, std::string_view ext) { return base.string() + std::string(ext); }

RawRecord record_for(const Case& c) {
  std::optional<std::string> key;
  std::optional<std::string> value;
  if (fs::exists(with_ext(c.base, ".key.json"))) key = read_file(with_ext(c.base, ".key.json"));
  if (fs::exists(with_ext(c.base, ".json"))) value = read_file(with_ext(c.base, ".json"));
  return RawRecord::copy_of("dbserver1.inventory." + c.name, Partition{2}, Offset{42}, 1700000000000, key, value);
}

DecoderConfig config_for(const Case& c) {
  DecoderConfig config;
  // Cases named limit_* exercise the limits with small values.
  if (c.name.starts_with("limit_")) {
    config.max_nesting_depth = 8;
    config.max_record_bytes = 1024;
  }
  return config;
}

class DebeziumData : public testing::TestWithParam<Case> {};

TEST_P(DebeziumData, Decodes) {
  const Case& c = GetParam();
  DebeziumDecoder decoder(config_for(c));
  RawRecord record = record_for(c);
  auto result = decoder.decode(record);
  std::string error_file = with_ext(c.base, ".error");
  std::string expected_file = with_ext(c.base, ".expected");
  if (fs::exists(error_file)) {
    std::istringstream lines(read_file(error_file));
    std::string reason, fragment;
    std::getline(lines, reason);
    std::getline(lines, fragment);
    ASSERT_FALSE(result.ok()) << describe(*result);
    EXPECT_EQ(result.error().error_class, ErrorClass::kRecord);
    EXPECT_EQ(result.error().reason, reason) << result.error().message;
    EXPECT_NE(result.error().message.find(fragment), std::string::npos) << result.error().message;
    return;
  }
  ASSERT_TRUE(result.ok()) << result.error().reason << ": " << result.error().message;
  std::string actual = describe(*result);
  const char* regenerate = std::getenv("SLUICE_REGENERATE");
  if (regenerate != nullptr && std::string(regenerate) == "1") {
    std::ofstream(expected_file, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(expected_file)) << expected_file << " is missing; actual:\n" << actual;
  EXPECT_EQ(actual, read_file(expected_file));
  // Decoding again hits the schema cache and must give the same event.
  auto again = decoder.decode(record);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(describe(*again), actual);
}

INSTANTIATE_TEST_SUITE_P(Files, DebeziumData, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& param_info) { return param_info.param.name; });

TEST(DebeziumDecoder, ReusesCachedSchema) {
  std::string value =
      R"({"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false},)"
      R"("payload":{"id":7}})";
  DebeziumDecoder decoder(DecoderConfig{});
  auto a = decoder.decode(RawRecord::copy_of("t", Partition{0}, Offset{1}, 0, std::nullopt, value));
  auto b = decoder.decode(RawRecord::copy_of("t", Partition{0}, Offset{2}, 0, std::nullopt, value));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->after->schema.get(), b->after->schema.get());
  EXPECT_EQ(b->after->values[0].text, "7");
  EXPECT_EQ(b->origin.offset.value, 2);
}

TEST(DebeziumDecoder, DeepNestingIsRejectedWithoutRecursion) {
  std::string value(200000, '[');
  DebeziumDecoder decoder(DecoderConfig{});
  auto r = decoder.decode(RawRecord::copy_of("t", Partition{0}, Offset{1}, 0, std::nullopt, value));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "nesting_too_deep");
}

TEST(DebeziumDecoder, TruncatedInputNeverCrashes) {
  std::string value = read_file(fs::path(SLUICE_DEBEZIUM_DATA_DIR) / "pg_all_types.json");
  DebeziumDecoder decoder(DecoderConfig{});
  for (size_t n = 0; n < value.size(); n += 7) {
    auto r = decoder.decode(RawRecord::copy_of("t", Partition{0}, Offset{1}, 0, std::nullopt, value.substr(0, n)));
    if (!r.ok()) {
      EXPECT_EQ(r.error().error_class, ErrorClass::kRecord);
    }
  }
}

TEST(DebeziumDecoder, FlattenedMetadataFromHeaders) {
  DebeziumDecoder decoder(DecoderConfig{});
  auto deleted = decoder.decode(RawRecord::copy_of("t", Partition{0}, Offset{1}, 0, std::string(R"({"id":3})"),
                                                   std::string(R"({"id":3,"name":"x"})"),
                                                   {{"__op", std::string("\"d\"")}, {"__deleted", std::string("true")}}));
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(deleted->op, Op::kDelete);
  ASSERT_TRUE(deleted->before.has_value());
  EXPECT_FALSE(deleted->after.has_value());
  auto updated = decoder.decode(RawRecord::copy_of("t", Partition{0}, Offset{2}, 0, std::nullopt,
                                                   std::string(R"({"id":3,"name":"y"})"), {{"__op", std::string("u")}}));
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->op, Op::kUpdate);
  auto bad = decoder.decode(RawRecord::copy_of("t", Partition{0}, Offset{3}, 0, std::nullopt,
                                               std::string(R"({"id":3})"), {{"__op", std::string("q")}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().reason, "unknown_op");
}

// Random byte mutations of every data file: the decoder returns a record
// error or an event, and never crashes (run under ASan/UBSan in CI).
TEST(DebeziumDecoder, MutatedInputNeverCrashes) {
  uint32_t seed = 20240229;
  std::cout << "mutation seed " << seed << "\n";
  std::mt19937 rng(seed);
  DebeziumDecoder decoder(DecoderConfig{});
  const char kInteresting[] = "{}[]\":,\\0-.eE \x80\xff";
  for (const Case& c : cases()) {
    RawRecord original = record_for(c);
    if (!original.value) continue;
    std::string value(*original.value);
    for (int round = 0; round < 200 && !value.empty(); ++round) {
      std::string mutated = value;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        size_t at = rng() % mutated.size();
        switch (rng() % 3) {
          case 0: mutated[at] = kInteresting[rng() % (sizeof(kInteresting) - 1)]; break;
          case 1: mutated.erase(at, 1 + rng() % 8); break;
          default: mutated.insert(at, 1, kInteresting[rng() % (sizeof(kInteresting) - 1)]); break;
        }
        if (mutated.empty()) break;
      }
      std::optional<std::string> key;
      if (original.key) key = std::string(*original.key);
      auto r = decoder.decode(RawRecord::copy_of("t", Partition{0}, Offset{round}, 0, key, mutated));
      if (!r.ok()) {
        EXPECT_EQ(r.error().error_class, ErrorClass::kRecord) << c.name;
        EXPECT_FALSE(r.error().reason.empty());
      }
    }
  }
}

}  // namespace
}  // namespace sluice
