#include "validate/masker.h"

#include <gtest/gtest.h>

#include "tests/unit/validate/event_builder.h"

namespace sluice::validate {
namespace {

using testing::event;
using testing::row;

std::unique_ptr<Masker> masker_for(std::vector<ColumnSetting> masks, std::string key = "Jefe") {
  Config config;
  config.masks = std::move(masks);
  config.mask_key = std::move(key);
  auto masker = Masker::create(config);
  EXPECT_TRUE(masker.ok()) << (masker.ok() ? "" : masker.error().message);
  return masker.ok() ? std::move(*masker) : nullptr;
}

Row customer(std::optional<std::string> email, std::optional<std::string> ssn = "123-45-6789",
             std::optional<std::string> age = "42") {
  return row({{"id", FieldType::kInt64, "7"},
              {"email", FieldType::kString, std::move(email)},
              {"ssn", FieldType::kString, std::move(ssn)},
              {"age", FieldType::kInt32, std::move(age)}});
}

TEST(Masker, HashIsHmacSha256Hex) {
  // RFC 4231, test case 2.
  auto masker = masker_for({});
  EXPECT_EQ(masker->hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 4231, test case 6: a key longer than the block is hashed first.
  auto long_key = masker_for({}, std::string(131, '\xaa'));
  EXPECT_EQ(long_key->hash("Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Masker, HashIsDeterministicAndKeyed) {
  auto a = masker_for({{"customers", "email", "hash"}}, "key-1");
  auto b = masker_for({{"customers", "email", "hash"}}, "key-1");
  auto c = masker_for({{"customers", "email", "hash"}}, "key-2");
  ChangeEvent first = event(Op::kCreate, std::nullopt, customer("anne@example.com"), "customers");
  ChangeEvent second = event(Op::kCreate, std::nullopt, customer("anne@example.com"), "customers");
  ChangeEvent third = event(Op::kCreate, std::nullopt, customer("anne@example.com"), "customers");
  EXPECT_FALSE(a->apply(first).has_value());
  EXPECT_FALSE(b->apply(second).has_value());
  EXPECT_FALSE(c->apply(third).has_value());
  const Datum* hashed = first.after->find("email");
  ASSERT_NE(hashed, nullptr);
  EXPECT_EQ(hashed->text.size(), 64u);
  EXPECT_EQ(hashed->text, a->hash("anne@example.com"));
  EXPECT_EQ(*hashed, *second.after->find("email"));
  EXPECT_NE(*hashed, *third.after->find("email"));
  EXPECT_EQ(first.after->column("email")->type, FieldType::kString);
}

TEST(Masker, RedactAndDrop) {
  auto masker = masker_for({{"customers", "ssn", "redact"}, {"customers", "age", "redact"}, {"customers", "email", "drop"}});
  ChangeEvent e = event(Op::kUpdate, std::nullopt, customer("anne@example.com"), "customers");
  e.before = customer("old@example.com", "999-99-9999", "41");
  EXPECT_FALSE(masker->apply(e).has_value());
  for (const Row* image : {&*e.after, &*e.before}) {
    EXPECT_EQ(image->find("email"), nullptr);
    EXPECT_EQ(image->schema->columns.size(), 3u);
    EXPECT_EQ(image->find("ssn")->text, Masker::kRedacted);
    EXPECT_TRUE(image->find("age")->null) << "non-text columns are redacted to null";
    EXPECT_EQ(image->find("id")->text, "7");
  }
}

TEST(Masker, NullsStayNullAndOtherTablesAreUntouched) {
  auto masker = masker_for({{"customers", "email", "hash"}});
  ChangeEvent e = event(Op::kCreate, std::nullopt, customer(std::nullopt), "customers");
  EXPECT_FALSE(masker->apply(e).has_value());
  EXPECT_TRUE(e.after->find("email")->null);
  ChangeEvent other = event(Op::kCreate, std::nullopt, customer("anne@example.com"), "leads");
  EXPECT_FALSE(masker->apply(other).has_value());
  EXPECT_EQ(other.after->find("email")->text, "anne@example.com");
}

TEST(Masker, KeyColumnsCanOnlyBeHashed) {
  auto hashing = masker_for({{"customers", "email", "hash"}});
  ChangeEvent e = event(Op::kCreate, row({{"email", FieldType::kString, "anne@example.com"}}),
                        customer("anne@example.com"), "customers");
  EXPECT_FALSE(hashing->apply(e).has_value());
  EXPECT_EQ(e.key->find("email")->text, hashing->hash("anne@example.com"));
  EXPECT_EQ(e.key->find("email")->text, e.after->find("email")->text);

  auto redacting = masker_for({{"customers", "email", "redact"}});
  ChangeEvent r = event(Op::kCreate, row({{"email", FieldType::kString, "anne@example.com"}}),
                        customer("anne@example.com"), "customers");
  auto rejected = redacting->apply(r);
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->stage, Stage::kValidate);
  EXPECT_EQ(rejected->rule, "mask");
  EXPECT_EQ(rejected->column, "email");
  EXPECT_NE(rejected->message.find("cannot apply to key columns"), std::string::npos);
}

TEST(Masker, ConfigurationErrors) {
  Config config;
  config.masks = {{"customers", "email", "hash"}, {"customers", "ssn", "scramble"}};
  auto masker = Masker::create(config);
  ASSERT_FALSE(masker.ok());
  EXPECT_NE(masker.error().message.find("mask.customers.email: hash needs mask.key"), std::string::npos);
  EXPECT_NE(masker.error().message.find("mask.customers.ssn: 'scramble' is not one of hash, redact, drop"),
            std::string::npos);
}

TEST(Masker, MasksJsonEnvelopesFlattenedValuesAndKeys) {
  auto masker = masker_for({{"customers", "email", "hash"}, {"customers", "ssn", "drop"}, {"customers", "age", "redact"}});
  std::string hashed = masker->hash("anne@example.com");
  auto envelope = masker->mask_json(
      R"({"before":null,"after":{"id":7,"email":"anne@example.com","ssn":"1","age":42},"op":"c"})", "customers");
  ASSERT_TRUE(envelope.has_value());
  EXPECT_EQ(*envelope, R"({"before":null,"after":{"id":7,"email":")" + hashed + R"(","age":null},"op":"c"})");

  auto with_schema = masker->mask_json(
      R"({"schema":{"type":"struct"},"payload":{"after":{"email":"anne@example.com"},"op":"c"}})", "customers");
  ASSERT_TRUE(with_schema.has_value());
  EXPECT_NE(with_schema->find(hashed), std::string::npos);
  EXPECT_EQ(with_schema->find("anne@"), std::string::npos);

  auto flattened = masker->mask_json(R"({"id":7,"email":"anne@example.com","ssn":"1"})", "customers");
  EXPECT_EQ(*flattened, R"({"id":7,"email":")" + hashed + R"("})");

  // Unknown table (a decode reject): every mask applies.
  auto unknown = masker->mask_json(R"({"email":"anne@example.com"})", "");
  EXPECT_EQ(*unknown, R"({"email":")" + hashed + R"("})");
  EXPECT_FALSE(masker->mask_json("{not json", "customers").has_value());
}

// Dead-letter records include the ones the decoder rejected as nested too
// deeply; masking them must neither recurse (stack overflow) nor keep them.
TEST(Masker, DeeplyNestedJsonIsNotWalked) {
  auto masker = masker_for({{"customers", "email", "hash"}});
  std::string deep = R"({"after":)" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_FALSE(masker->mask_json(deep, "customers").has_value());
  std::string unterminated = "{\"a\":" + std::string(200000, '[');
  EXPECT_FALSE(masker->mask_json(unterminated, "customers").has_value());
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) deep_objects += R"({"a":)";
  deep_objects += "1" + std::string(100000, '}');
  EXPECT_FALSE(masker->mask_json(deep_objects, "customers").has_value());

  // Up to the decoder's nesting limit (64 by default) a document is masked.
  std::string at_limit = R"({"after":{"email":"a@b.c","n":)" + std::string(62, '[') + std::string(62, ']') + "}}";
  auto masked = masker->mask_json(at_limit, "customers");
  ASSERT_TRUE(masked.has_value());
  EXPECT_EQ(masked->find("a@b.c"), std::string::npos);
  std::string past_limit = R"({"after":{"email":"a@b.c","n":)" + std::string(63, '[') + std::string(63, ']') + "}}";
  EXPECT_FALSE(masker->mask_json(past_limit, "customers").has_value());
}

class RecordingDeadLetterSink final : public DeadLetterSink {
 public:
  Status send(const RawRecord& record, const Reject&, int) override {
    sent.push_back(record);
    return {};
  }
  Status flush(std::chrono::milliseconds) override { return {}; }
  std::vector<RawRecord> sent;
};

TEST(Masker, MaskingDeadLetterSinkRewritesKeyAndValue) {
  auto masker = masker_for({{"customers", "email", "hash"}});
  RecordingDeadLetterSink inner;
  MaskingDeadLetterSink sink(inner, *masker);
  RawRecord record = RawRecord::copy_of("db.customers", Partition{1}, Offset{9}, 5, R"({"email":"a@b.c"})",
                                        R"({"after":{"email":"a@b.c"},"op":"c"})", {{"traceparent", "00-1"}});
  ASSERT_TRUE(sink.send(record, Reject{Stage::kValidate, "min:0", "customers", "age", "m"}, 1));
  RawRecord garbage = RawRecord::copy_of("db.customers", Partition{1}, Offset{10}, 5, std::nullopt, "a@b.c");
  ASSERT_TRUE(sink.send(garbage, Reject{Stage::kDecode, "malformed_json", "", "", "m"}, 1));
  RawRecord deep = RawRecord::copy_of("db.customers", Partition{1}, Offset{11}, 5, std::nullopt,
                                      std::string(100000, '[') + std::string(100000, ']'));
  ASSERT_TRUE(sink.send(deep, Reject{Stage::kDecode, "nesting_too_deep", "", "", "m"}, 1));
  ASSERT_EQ(inner.sent.size(), 3u);
  EXPECT_NE(inner.sent[2].value->find("not JSON"), std::string::npos);
  const RawRecord& masked = inner.sent[0];
  EXPECT_EQ(masked.topic, "db.customers");
  EXPECT_EQ(masked.offset, Offset{9});
  EXPECT_EQ(*masked.key, R"({"email":")" + masker->hash("a@b.c") + R"("})");
  EXPECT_EQ(masked.value->find("a@b.c"), std::string::npos);
  ASSERT_EQ(masked.headers.size(), 2u);
  EXPECT_EQ(masked.headers[0].key, "traceparent");
  EXPECT_EQ(masked.headers[1].key, "sluice.masked");
  EXPECT_FALSE(inner.sent[1].key.has_value());
  EXPECT_EQ(inner.sent[1].value->find("a@b.c"), std::string::npos);
}

}  // namespace
}  // namespace sluice::validate
