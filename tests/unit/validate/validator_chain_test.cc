#include "validate/validator_chain.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/unit/validate/event_builder.h"

namespace sluice::validate {
namespace {

using testing::event;
using testing::row;
using testing::same_schema;

class FakeCatalog final : public TargetCatalog {
 public:
  Result<std::optional<TargetTable>> describe(const TableName& table) override {
    ++calls;
    auto it = tables.find(table.display());
    if (it == tables.end()) return std::optional<TargetTable>();
    return std::optional<TargetTable>(it->second);
  }
  std::map<std::string, TargetTable> tables;
  int calls = 0;
};

TargetColumn column(std::string name, TargetColumn::Kind kind, std::string type, int32_t length = -1,
                    int32_t precision = -1, int32_t scale = -1, bool not_null = false) {
  return TargetColumn{std::move(name), kind, std::move(type), length, precision, scale, not_null};
}

Config config_with(std::vector<ColumnSetting> rules, std::vector<ColumnSetting> masks = {}) {
  Config config;
  config.kafka.topics = {"dbserver1.inventory.orders"};
  config.sink.table_name_format = "orders";
  config.validate_rules = std::move(rules);
  config.masks = std::move(masks);
  return config;
}

std::unique_ptr<ValidatorChain> chain_for(const Config& config, TargetCatalog* catalog = nullptr) {
  auto chain = ValidatorChain::create(config, catalog);
  EXPECT_TRUE(chain.ok()) << (chain.ok() ? "" : chain.error().message);
  return chain.ok() ? std::move(*chain) : nullptr;
}

Row key(std::optional<std::string> id) { return row({{"id", FieldType::kInt64, std::move(id)}}); }

Row order(std::optional<std::string> quantity, std::optional<std::string> status = "paid",
          std::optional<std::string> price = "10.00", std::optional<std::string> id = "1") {
  return row({{"id", FieldType::kInt64, std::move(id)},
              {"quantity", FieldType::kInt32, std::move(quantity)},
              {"status", FieldType::kString, std::move(status)},
              {"price", FieldType::kDecimal, std::move(price), 12, 2}});
}

TEST(ValidatorChain, GoodEventPasses) {
  auto chain = chain_for(config_with({{"orders", "quantity", "not_null, min:0"}}));
  EXPECT_FALSE(chain->validate(event(Op::kCreate, key("1"), order("5"))).has_value());
}

TEST(ValidatorChain, RejectNamesRuleTableColumnAndValue) {
  auto chain = chain_for(config_with({{"orders", "quantity", "not_null, min:0"}}));
  auto rejected = chain->validate(event(Op::kUpdate, key("1"), order("-5")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->stage, Stage::kValidate);
  EXPECT_EQ(rejected->rule, "min:0");
  EXPECT_EQ(rejected->table, "orders");
  EXPECT_EQ(rejected->column, "quantity");
  EXPECT_EQ(rejected->message, "quantity = -5 violates min:0");

  rejected = chain->validate(event(Op::kRead, key("1"), order(std::nullopt)));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "not_null");
  EXPECT_EQ(rejected->message, "quantity = null violates not_null");
}

TEST(ValidatorChain, TextValuesAreQuotedAndCut) {
  auto chain = chain_for(config_with({{"orders", "status", "in:new|paid"}}));
  auto rejected = chain->validate(event(Op::kCreate, key("1"), order("1", "it's late")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->message, "status = 'it''s late' violates in:new|paid");
  rejected = chain->validate(event(Op::kCreate, key("1"), order("1", std::string(100, 'x'))));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->message, "status = '" + std::string(64, 'x') + "'... violates in:new|paid");
}

TEST(ValidatorChain, MaskedValuesAreNeverShown) {
  auto chain = chain_for(config_with({{"orders", "status", "in:new|paid"}}, {{"orders", "status", "redact"}}));
  auto rejected = chain->validate(event(Op::kCreate, key("1"), order("1", "secret")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->message, "status = <masked> violates in:new|paid");
}

TEST(ValidatorChain, RulesApplyOnlyToTheirTable) {
  auto chain = chain_for(config_with({{"orders", "quantity", "min:0"}}));
  EXPECT_FALSE(chain->validate(event(Op::kCreate, key("1"), order("-5"), "other")).has_value());
}

TEST(ValidatorChain, SchemaQualifiedTables) {
  Config config = config_with({{"sales.orders", "quantity", "min:0"}});
  config.sink.table_name_format = "sales.orders";
  auto chain = chain_for(config);
  ChangeEvent e = event(Op::kCreate, key("1"), order("-1"));
  e.table = TableName{"sales", "orders"};
  auto rejected = chain->validate(e);
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->table, "sales.orders");
}

TEST(ValidatorChain, StructuralChecks) {
  auto chain = chain_for(config_with({}));
  auto no_key = chain->validate(event(Op::kCreate, std::nullopt, order("1")));
  ASSERT_TRUE(no_key.has_value());
  EXPECT_EQ(no_key->rule, "key_missing");

  auto null_key = chain->validate(event(Op::kCreate, key(std::nullopt), order("1")));
  ASSERT_TRUE(null_key.has_value());
  EXPECT_EQ(null_key->rule, "key_null");
  EXPECT_EQ(null_key->column, "id");

  auto no_after = chain->validate(event(Op::kUpdate, key("1"), std::nullopt));
  ASSERT_TRUE(no_after.has_value());
  EXPECT_EQ(no_after->rule, "after_missing");
  EXPECT_EQ(no_after->message, "op u event has no after image");

  auto null_pk = chain->validate(event(Op::kCreate, key("1"), order("1", "paid", "1.00", std::nullopt)));
  ASSERT_TRUE(null_pk.has_value());
  EXPECT_EQ(null_pk->rule, "primary_key_null");

  ChangeEvent truncate = event(Op::kTruncate, std::nullopt, std::nullopt);
  EXPECT_FALSE(chain->validate(truncate).has_value());
}

TEST(ValidatorChain, DeletesAreCheckedOnlyForTheirKey) {
  auto chain = chain_for(config_with({{"orders", "quantity", "not_null, min:0"}}));
  ChangeEvent remove = event(Op::kDelete, key("1"), std::nullopt);
  remove.before = order("-5");
  EXPECT_FALSE(chain->validate(remove).has_value());
  ChangeEvent tombstone = event(Op::kDelete, key("1"), std::nullopt);
  tombstone.tombstone = true;
  EXPECT_FALSE(chain->validate(tombstone).has_value());
  ChangeEvent keyless = event(Op::kDelete, std::nullopt, std::nullopt);
  auto rejected = chain->validate(keyless);
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "key_missing");
}

TEST(ValidatorChain, RecordValueKeyFields) {
  Config config = config_with({});
  config.sink.primary_key_mode = PrimaryKeyMode::kRecordValue;
  config.sink.primary_key_fields = {"id"};
  auto chain = chain_for(config);
  EXPECT_FALSE(chain->validate(event(Op::kCreate, std::nullopt, order("1"))).has_value());
  auto rejected = chain->validate(event(Op::kCreate, std::nullopt, order("1", "paid", "1.00", std::nullopt)));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "key_null");
  Config none = config_with({});
  none.sink.primary_key_mode = PrimaryKeyMode::kNone;
  EXPECT_FALSE(chain_for(none)->validate(event(Op::kCreate, std::nullopt, order("1"))).has_value());
}

TEST(ValidatorChain, ValuesMustFitTheTargetColumn) {
  FakeCatalog catalog;
  catalog.tables["orders"] = TargetTable{
      {column("id", TargetColumn::Kind::kBigint, "bigint", -1, -1, -1, true),
       column("quantity", TargetColumn::Kind::kSmallint, "smallint"),
       column("status", TargetColumn::Kind::kVarchar, "character varying(4)", 4),
       column("price", TargetColumn::Kind::kNumeric, "numeric(5,2)", -1, 5, 2)},
      {"id"}};
  Config config = config_with({});
  config.sink.schema_evolution = SchemaEvolution::kNone;
  auto chain = chain_for(config, &catalog);
  EXPECT_FALSE(chain->validate(event(Op::kCreate, key("1"), order("32767", "日本語!", "999.99"))).has_value());

  auto rejected = chain->validate(event(Op::kCreate, key("1"), order("32768")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "fits:smallint");
  EXPECT_EQ(rejected->message, "quantity = 32768 is out of range for smallint");

  rejected = chain->validate(event(Op::kCreate, key("1"), order("1", "paid!")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "fits:character varying(4)");
  EXPECT_EQ(rejected->message, "status = 'paid!' (5 characters) does not fit character varying(4)");

  rejected = chain->validate(event(Op::kCreate, key("1"), order("1", "paid", "1000.00")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "fits:numeric(5,2)");
  EXPECT_EQ(rejected->message, "price = 1000.00 needs 4 integer digits; numeric(5,2) holds 3");

  rejected = chain->validate(event(Op::kCreate, key("1"), order("1", "paid", "1.005")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "fits:numeric(5,2)");
  EXPECT_NE(rejected->message.find("has 3 fraction digits"), std::string::npos);
  EXPECT_FALSE(chain->validate(event(Op::kCreate, key("1"), order("1", "paid", "1.500"))).has_value());
  EXPECT_FALSE(chain->validate(event(Op::kCreate, key("1"), order("1", "paid", "-999.99"))).has_value());
}

// Kafka Connect allows a negative Decimal scale (unscaled 12, scale -2 is 1200)
// and PostgreSQL a negative numeric scale: numeric(5,-2) keeps multiples of
// 100 up to 9999900 and would round anything else.
TEST(ValidatorChain, NegativeScalesFitExactly) {
  FakeCatalog catalog;
  catalog.tables["orders"] = TargetTable{
      {column("id", TargetColumn::Kind::kBigint, "bigint", -1, -1, -1, true),
       column("price", TargetColumn::Kind::kNumeric, "numeric(5,-2)", -1, 5, -2)},
      {"id"}};
  Config config = config_with({});
  config.sink.schema_evolution = SchemaEvolution::kNone;
  auto chain = chain_for(config, &catalog);
  auto price = [](std::string text) {
    return row({{"id", FieldType::kInt64, "1"}, {"price", FieldType::kDecimal, std::move(text), 5, -2}});
  };
  for (const char* fits : {"1200", "-1200", "0", "9999900", "100", "1200.000"}) {
    EXPECT_FALSE(chain->validate(event(Op::kCreate, key("1"), price(fits))).has_value()) << fits;
  }
  auto rejected = chain->validate(event(Op::kCreate, key("1"), price("1250")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "fits:numeric(5,-2)");
  EXPECT_EQ(rejected->message, "price = 1250 is not a multiple of 100, as numeric(5,-2) needs (sluice does not round)");
  rejected = chain->validate(event(Op::kCreate, key("1"), price("12.5")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "fits:numeric(5,-2)");
  rejected = chain->validate(event(Op::kCreate, key("1"), price("10000000")));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->message, "price = 10000000 needs 8 integer digits; numeric(5,-2) holds 7");
}

TEST(ValidatorChain, TargetNotNullAndPrimaryKey) {
  FakeCatalog catalog;
  catalog.tables["orders"] = TargetTable{
      {column("id", TargetColumn::Kind::kBigint, "bigint", -1, -1, -1, true),
       column("status", TargetColumn::Kind::kOther, "text", -1, -1, -1, true)},
      {"id"}};
  auto chain = chain_for(config_with({}), &catalog);
  auto rejected = chain->validate(event(Op::kCreate, key("1"), order("1", std::nullopt)));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "column_not_null");
  EXPECT_EQ(rejected->column, "status");
}

TEST(ValidatorChain, EvolutionWidensBeforeTheValueIsChecked) {
  FakeCatalog catalog;
  catalog.tables["orders"] = TargetTable{
      {column("id", TargetColumn::Kind::kBigint, "bigint"),
       column("quantity", TargetColumn::Kind::kSmallint, "smallint"),
       column("status", TargetColumn::Kind::kVarchar, "character varying(4)", 4),
       column("price", TargetColumn::Kind::kNumeric, "numeric(5,2)", -1, 5, 2)},
      {"id"}};
  auto chain = chain_for(config_with({}), &catalog);  // schema.evolution = basic
  Row after = row({{"id", FieldType::kInt64, "1"},
                   {"quantity", FieldType::kInt32, "70000"},
                   {"status", FieldType::kString, "shipped", 10},
                   {"price", FieldType::kDecimal, "12345.678", 12, 3}});
  EXPECT_FALSE(chain->validate(event(Op::kCreate, key("1"), after)).has_value());
  auto rejected = chain->validate(event(Op::kCreate, key("1"), same_schema(after, {"1", "1", "abcdefghijk", "1"})));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "fits:character varying(10)");
}

TEST(ValidatorChain, TargetDescriptionIsCachedAndRefreshed) {
  FakeCatalog catalog;
  Config config = config_with({});
  config.sink.schema_evolution = SchemaEvolution::kNone;  // smallint stays smallint
  auto chain = ValidatorChain::create(config, &catalog, nullptr,
                                      ValidatorChain::Options{std::chrono::milliseconds(0)});
  ASSERT_TRUE(chain.ok());
  (*chain)->validate(event(Op::kCreate, key("1"), order("1")));
  int first = catalog.calls;
  // The table appears (created by the sink): the next description sees it.
  catalog.tables["orders"] = TargetTable{{column("quantity", TargetColumn::Kind::kSmallint, "smallint")}, {}};
  auto rejected = (*chain)->validate(event(Op::kCreate, key("1"), order("40000")));
  EXPECT_GT(catalog.calls, first);
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->rule, "fits:smallint");

  FakeCatalog slow;
  auto cached = chain_for(config_with({}), &slow);  // default refresh: seconds
  for (int i = 0; i < 100; ++i) cached->validate(event(Op::kCreate, key("1"), order("1")));
  EXPECT_EQ(slow.calls, 1);
}

TEST(ValidatorChain, CountsRejectsPerTableAndRule) {
  auto chain = chain_for(config_with({{"orders", "quantity", "min:0"}}));
  chain->validate(event(Op::kCreate, key("1"), order("-1")));
  chain->validate(event(Op::kCreate, key("1"), order("-2")));
  chain->validate(event(Op::kCreate, key("1"), order("3")));
  chain->validate(event(Op::kCreate, std::nullopt, order("3")));
  auto counts = chain->counters().snapshot();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0], (RejectCounters::Count{"orders", "key_missing", 1}));
  EXPECT_EQ(counts[1], (RejectCounters::Count{"orders", "min:0", 2}));
}

std::string config_error(const Config& config, TargetCatalog* catalog = nullptr) {
  auto chain = ValidatorChain::create(config, catalog);
  EXPECT_FALSE(chain.ok());
  return chain.ok() ? "" : chain.error().message;
}

TEST(ValidatorChain, ConfigurationErrorsNameTheirKey) {
  std::string message = config_error(config_with({{"orders", "sku", "regex:([a-z"}, {"orders", "qty", "minimum:1"}}));
  EXPECT_NE(message.find("validate.orders.sku: 'regex:([a-z': invalid pattern"), std::string::npos) << message;
  EXPECT_NE(message.find("validate.orders.qty: 'minimum:1': unknown rule"), std::string::npos) << message;
  EXPECT_NE(config_error(config_with({{"orders", "qty", " , "}})).find("validate.orders.qty: no rule"),
            std::string::npos);
}

TEST(ValidatorChain, UnknownTableOfTheConfiguredTopics) {
  Config config = config_with({{"ordres", "quantity", "min:0"}});
  config.sink.table_name_format = "${topic}";
  std::string message = config_error(config);
  EXPECT_NE(message.find("validate.ordres.quantity: table ordres is not the target of any configured topic "
                         "(targets: dbserver1_inventory_orders)"),
            std::string::npos)
      << message;
  // ${source.table} cannot be resolved up front: no check.
  config.sink.table_name_format = "${source.table}";
  EXPECT_TRUE(ValidatorChain::create(config, nullptr).ok());
}

TEST(ValidatorChain, UnknownColumnOfAnExistingTable) {
  FakeCatalog catalog;
  catalog.tables["orders"] = TargetTable{{column("id", TargetColumn::Kind::kBigint, "bigint")}, {"id"}};
  std::string message = config_error(config_with({{"orders", "quantityy", "min:0"}}), &catalog);
  EXPECT_EQ(message, "validate.orders.quantityy: table orders has no column quantityy");
  message = config_error(config_with({}, {{"orders", "emial", "hash"}}), &catalog);
  EXPECT_EQ(message, "mask.orders.emial: table orders has no column emial");
  // A dropped column never reaches the table: rules on it are fine.
  EXPECT_TRUE(ValidatorChain::create(config_with({{"orders", "ssn", "not_null"}}, {{"orders", "ssn", "drop"}}),
                                     &catalog)
                  .ok());
}

TEST(ValidatorChain, MissingTableIsAnErrorOnlyWithoutEvolution) {
  FakeCatalog catalog;
  Config config = config_with({{"orders", "quantity", "min:0"}});
  std::vector<std::string> notes;
  EXPECT_TRUE(ValidatorChain::create(config, &catalog, &notes).ok());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("does not exist yet"), std::string::npos);
  config.sink.schema_evolution = SchemaEvolution::kNone;
  EXPECT_NE(config_error(config, &catalog).find("validate.orders.quantity: table orders does not exist"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::validate
