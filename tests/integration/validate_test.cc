// Validators and masking end to end: the sluice executable consumes a mix of
// good and bad Debezium events from the dev broker into a real PostgreSQL;
// exactly the good ones reach the table (masked), the bad ones reach the
// dead-letter topic with stage validate and the rule that rejected them.
// Table and column names PostgreSQL cannot hold exactly reach it with stage
// sink, and the stream goes on past them.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/consumed_record.h"
#include "tests/support/sluice_command.h"
#include "tests/support/test_services.h"

namespace sluice {
namespace {

using testing::consumed_record;
using testing::ConsumedRecord;
using testing::consumer_from_start;
using testing::dev_broker;
using testing::postgres;
using testing::query;
using testing::query_value;
using testing::run_sluice;
using testing::RunResult;
using testing::unique_name;

constexpr const char* kMaskKey = "integration-mask-key";

struct Message {
  std::optional<std::string> key;
  std::optional<std::string> value;
};

void produce(const std::string& topic, const std::vector<Message>& messages) {
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", dev_broker().bootstrap_servers(), error);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  ASSERT_TRUE(producer) << error;
  for (const Message& m : messages) {
    ASSERT_EQ(producer->produce(topic, 0, RdKafka::Producer::RK_MSG_COPY,
                                m.value ? const_cast<char*>(m.value->data()) : nullptr, m.value ? m.value->size() : 0,
                                m.key ? m.key->data() : nullptr, m.key ? m.key->size() : 0, 0, nullptr),
              RdKafka::ERR_NO_ERROR);
  }
  ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);
}

// Dead-letter records by their original offset.
std::map<int64_t, ConsumedRecord> consume_dead_letters(const std::string& topic, size_t expected) {
  std::unique_ptr<RdKafka::KafkaConsumer> consumer = consumer_from_start(topic);
  std::map<int64_t, ConsumedRecord> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  size_t seen = 0;
  while (seen < expected && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
    if (message->err() != RdKafka::ERR_NO_ERROR) continue;
    ++seen;
    ConsumedRecord record = consumed_record(*message);
    out[std::stoll(record.headers["__connect.errors.offset"])] = std::move(record);
  }
  // Anything beyond `expected` would be a bug: look a little longer.
  for (int i = 0; i < 5; ++i) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(200));
    if (message->err() == RdKafka::ERR_NO_ERROR) ++seen;
  }
  EXPECT_EQ(seen, expected);
  consumer->close();
  return out;
}

std::string hmac_hex(const std::string& key, const std::string& value) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(value.data()),
       value.size(), digest, &length);
  std::string out;
  char hex[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out;
}

std::string envelope(const std::string& after, const std::string& op = "c", const std::string& before = "null") {
  return R"({"before":)" + before + R"(,"after":)" + after +
         R"(,"source":{"connector":"postgresql","db":"inventory","schema":"public","table":"orders","ts_ms":5,"lsn":100},"op":")" +
         op + R"(","ts_ms":6})";
}

struct Fixture {
  std::string url;
  std::string topic;
  std::string dlq;
  std::string table;
  std::string config;
};

Fixture set_up(const std::string& extra_config) {
  Fixture s;
  s.url = postgres().create_database(unique_name("validate"));
  s.topic = unique_name("orders");
  s.dlq = unique_name("orders_dlq");
  s.table = unique_name("orders");
  dev_broker().create_topic(s.topic, 1);
  dev_broker().create_topic(s.dlq, 1);
  query(s.url, "CREATE TABLE " + s.table +
                   " (id bigint PRIMARY KEY, quantity integer, status text, note varchar(8), price numeric(6,2), "
                   "email text)");
  s.config = "topics = " + s.topic + "\n" + "connection.url = " + s.url + "\n" +
             "kafka.bootstrap.servers = " + dev_broker().bootstrap_servers() + "\n" +
             "kafka.group.id = " + unique_name("group") + "\n" + "kafka.auto.offset.reset = earliest\n" +
             "errors.deadletterqueue.topic.name = " + s.dlq + "\n" + "table.name.format = " + s.table + "\n" +
             "metrics.listen =\n" + "validate." + s.table + ".quantity = not_null, min:0\n" + "validate." +
             s.table + ".status = in:new|paid|shipped\n" + "validate." + s.table +
             ".email = regex:[^@ ]+@[^@ ]+\\.[a-z]{2,}, max_length:40\n" + "mask." + s.table + ".email = hash\n" +
             "mask.key = " + kMaskKey + "\n" + extra_config;
  return s;
}

TEST(ValidateEndToEnd, GoodEventsReachTheTableAndBadOnesTheDeadLetterTopic) {
  Fixture s = set_up("");
  const std::string good1 = R"({"id":1,"quantity":5,"status":"paid","note":"ok","price":10.50,"email":"anne@example.com"})";
  std::vector<Message> messages = {
      /*0*/ {R"({"id":1})", envelope(good1)},
      /*1*/ {R"({"id":2})", envelope(R"({"id":2,"quantity":-5,"status":"new","email":"b@example.com"})")},
      /*2*/ {R"({"id":3})", envelope(R"({"id":3,"quantity":1,"status":"bogus","email":"c@example.com"})")},
      /*3*/ {R"({"id":4})", envelope(R"({"id":4,"quantity":1,"status":"new","email":"not-an-email"})")},
      /*4*/ {R"({"id":5})", envelope(R"({"id":5,"quantity":1,"status":"new","note":"far too long"})")},
      /*5*/ {R"({"id":6})", envelope(R"({"id":6,"quantity":1,"status":"new","price":12345.67})")},
      /*6*/ {std::nullopt, envelope(R"({"id":7,"quantity":1,"status":"new"})")},
      /*7*/ {R"({"id":8})", envelope(R"({"id":8,"quantity":null,"status":"new"})")},
      /*8*/ {R"({"id":10})", envelope(R"({"id":10,"quantity":0,"status":"shipped","note":"日本語日本語日本"})")},
      /*9*/ {R"({"id":11})", envelope(R"({"id":11,"quantity":3,"status":"new","price":-9999.99})", "r")},
      // Deletes are checked for their key only: the bad before image does not matter.
      /*10*/ {R"({"id":2})", envelope("null", "d", R"({"id":2,"quantity":-5,"status":"bogus"})")},
      /*11*/ {R"({"id":12})", envelope(R"({"id":12,"quantity":1,"status":"new","email":")" + std::string(30, 'x') +
                                       R"(@example.com"})")},
      /*12*/ {R"({"id":13})", envelope(R"({"id":13,"quantity":2,"status":"new","price":1.005})")},
  };
  produce(s.topic, messages);

  RunResult run = run_sluice("run --until-caught-up", s.config);
  ASSERT_EQ(run.exit_code, 0) << run.output;

  auto rows = query(s.url, "SELECT id, quantity, status, note, price, email FROM " + s.table + " ORDER BY id");
  ASSERT_EQ(rows.size(), 3u) << run.output;
  EXPECT_EQ(rows[0][0], "1");
  EXPECT_EQ(rows[0][4], "10.50");
  EXPECT_EQ(rows[0][5], hmac_hex(kMaskKey, "anne@example.com")) << "email is stored hashed";
  EXPECT_EQ(rows[1][0], "10");
  EXPECT_EQ(rows[1][3], "日本語日本語日本");
  EXPECT_EQ(rows[2][0], "11");
  EXPECT_EQ(rows[2][4], "-9999.99");

  struct Expected {
    int64_t offset;
    std::string rule;
    std::string column;
    std::string message;  // empty: not compared in full
  };
  std::vector<Expected> expected = {
      {1, "min:0", "quantity", "quantity = -5 violates min:0"},
      {2, "in:new|paid|shipped", "status", "status = 'bogus' violates in:new|paid|shipped"},
      {3, "regex:[^@ ]+@[^@ ]+\\.[a-z]{2,}", "email", "email = <masked> violates regex:[^@ ]+@[^@ ]+\\.[a-z]{2,}"},
      {4, "fits:character varying(8)", "note", "note = 'far too long' (12 characters) does not fit character varying(8)"},
      {5, "fits:numeric(6,2)", "price", "price = 12345.67 needs 5 integer digits; numeric(6,2) holds 4"},
      {6, "key_missing", "", ""},
      {7, "not_null", "quantity", "quantity = null violates not_null"},
      {11, "max_length:40", "email", "email = <masked> violates max_length:40 (42 characters)"},
      {12, "fits:numeric(6,2)", "price", ""},
  };
  auto dead = consume_dead_letters(s.dlq, expected.size());
  ASSERT_EQ(dead.size(), expected.size());
  for (const Expected& e : expected) {
    SCOPED_TRACE("offset " + std::to_string(e.offset));
    ASSERT_TRUE(dead.contains(e.offset));
    const ConsumedRecord& record = dead.at(e.offset);
    EXPECT_EQ(record.headers.at("__connect.errors.stage"), "validate");
    EXPECT_EQ(record.headers.at("__connect.errors.topic"), s.topic);
    EXPECT_EQ(record.headers.at("sluice.errors.rule"), e.rule);
    EXPECT_EQ(record.headers.at("sluice.errors.table"), s.table);
    if (!e.column.empty()) {
      EXPECT_EQ(record.headers.at("sluice.errors.column"), e.column);
    }
    if (!e.message.empty()) {
      EXPECT_EQ(record.headers.at("__connect.errors.exception.message"), e.message);
    }
    // By default the dead-letter record keeps the original bytes.
    EXPECT_EQ(record.value, messages[static_cast<size_t>(e.offset)].value);
    EXPECT_EQ(record.key, messages[static_cast<size_t>(e.offset)].key);
    EXPECT_FALSE(record.headers.contains("sluice.masked"));
  }
}

TEST(ValidateEndToEnd, DeadLetterRecordsCanBeMaskedToo) {
  Fixture s = set_up("errors.deadletterqueue.mask = true\n");
  std::vector<Message> messages = {
      {R"({"id":1})", envelope(R"({"id":1,"quantity":-1,"status":"new","email":"secret@example.com"})")},
  };
  produce(s.topic, messages);
  RunResult run = run_sluice("run --until-caught-up", s.config);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(query_value(s.url, "SELECT count(*) FROM " + s.table), "0");
  auto dead = consume_dead_letters(s.dlq, 1);
  ASSERT_TRUE(dead.contains(0));
  const ConsumedRecord& record = dead.at(0);
  EXPECT_EQ(record.headers.at("sluice.errors.rule"), "min:0");
  EXPECT_EQ(record.headers.at("sluice.masked"), "true");
  ASSERT_TRUE(record.value.has_value());
  EXPECT_EQ(record.value->find("secret@example.com"), std::string::npos);
  EXPECT_NE(record.value->find(hmac_hex(kMaskKey, "secret@example.com")), std::string::npos);
  EXPECT_NE(record.value->find(R"("quantity":-1)"), std::string::npos) << "unmasked columns are kept";
  EXPECT_EQ(run.output.find(kMaskKey), std::string::npos) << "the key is never logged";
}

TEST(ValidateEndToEnd, RuleConfigurationErrorsStopStartUpNamingTheKey) {
  Fixture s = set_up("");
  RunResult unknown_column = run_sluice("run --until-caught-up", s.config + "validate." + s.table + ".quantityy = min:0\n");
  EXPECT_EQ(unknown_column.exit_code, 2) << unknown_column.output;
  EXPECT_NE(unknown_column.output.find("validate." + s.table + ".quantityy: table " + s.table +
                                       " has no column quantityy"),
            std::string::npos)
      << unknown_column.output;

  RunResult bad_pattern = run_sluice("check-config", s.config + "validate." + s.table + ".note = regex:(a|b\n");
  EXPECT_EQ(bad_pattern.exit_code, 2) << bad_pattern.output;
  EXPECT_NE(bad_pattern.output.find("validate." + s.table + ".note: 'regex:(a|b': invalid pattern"), std::string::npos)
      << bad_pattern.output;

  RunResult unknown_table = run_sluice("check-config", s.config + "validate.ordres.note = not_null\n");
  EXPECT_EQ(unknown_table.exit_code, 2) << unknown_table.output;
  EXPECT_NE(unknown_table.output.find("validate.ordres.note: table ordres is not the target of any configured topic"),
            std::string::npos)
      << unknown_table.output;
}

// PostgreSQL truncates names to 63 bytes: two columns sharing their first 63
// bytes used to collide (42701 duplicate_column) and stop the stream for good.
TEST(ValidateEndToEnd, NamesPostgresCannotHoldGoToTheDeadLetterTopicAndTheStreamGoesOn) {
  Fixture s = set_up("table.name.format = ${source.table}\n");
  auto in_table = [](const std::string& table, const std::string& after) {
    return R"({"before":null,"after":)" + after +
           R"(,"source":{"connector":"postgresql","db":"inventory","schema":"public","table":")" + table +
           R"(","ts_ms":5,"lsn":100},"op":"c","ts_ms":6})";
  };
  const std::string prefix(63, 'c');
  const std::string longest = std::string(61, 'd') + "\xC3\xA9";  // 63 bytes
  std::vector<Message> messages = {
      /*0*/ {R"({"id":1})", in_table(s.table, R"({"id":1,"quantity":1,"status":"new"})")},
      /*1*/ {R"({"id":2})", in_table(s.table, R"({"id":2,"quantity":1,"status":"new",")" + prefix + R"(_first":"x",")" +
                                                  prefix + R"(_second":"y"})")},
      /*2*/ {R"({"id":3})", in_table(s.table, R"({"id":3,"quantity":1,"status":"new",")" + longest + R"(":"kept"})")},
      /*3*/ {R"({"id":4})", in_table(s.table, R"({"id":4,"quantity":1,"status":"new","na\u0000me":"x"})")},
      /*4*/ {R"({"id":5})", in_table(s.table + std::string(60, 't'), R"({"id":5,"quantity":1,"status":"new"})")},
      /*5*/ {R"({"id":6})", in_table(s.table, R"({"id":6,"quantity":1,"status":"paid"})")},
  };
  produce(s.topic, messages);
  RunResult run = run_sluice("run --until-caught-up", s.config);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(query_value(s.url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM " + s.table), "1,3,6");
  EXPECT_EQ(query_value(s.url, "SELECT \"" + longest + "\" FROM " + s.table + " WHERE id = 3"), "kept");
  EXPECT_EQ(query_value(s.url, "SELECT next_offset FROM sluice_offsets"), "6") << "offsets move past the rejects";

  auto dead = consume_dead_letters(s.dlq, 3);
  ASSERT_EQ(dead.size(), 3u);
  std::map<int64_t, std::string> expected = {
      {1, "column of table \"" + s.table + "\": \"" + prefix + "_first\" is 69 bytes long; PostgreSQL keeps at most "
                                                                "63 bytes of an identifier"},
      {3, "column of table \"" + s.table + "\": \"na\\x00me\" contains a NUL byte"},
      {4, "table name \"" + s.table + std::string(60, 't') + "\" is " + std::to_string(s.table.size() + 60) +
              " bytes long"},
  };
  for (const auto& [offset, reason] : expected) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    ASSERT_TRUE(dead.contains(offset));
    const ConsumedRecord& record = dead.at(offset);
    EXPECT_EQ(record.headers.at("__connect.errors.stage"), "sink");
    EXPECT_EQ(record.headers.at("sluice.errors.rule"), "invalid_identifier");
    EXPECT_NE(record.headers.at("__connect.errors.exception.message").find(reason), std::string::npos)
        << record.headers.at("__connect.errors.exception.message");
    EXPECT_EQ(record.value, messages[static_cast<size_t>(offset)].value);
  }

  // The next run goes on from there.
  produce(s.topic, {{R"({"id":7})", in_table(s.table, R"({"id":7,"quantity":2,"status":"new"})")}});
  RunResult again = run_sluice("run --until-caught-up", s.config);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(query_value(s.url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM " + s.table), "1,3,6,7");
  EXPECT_EQ(query_value(s.url, "SELECT next_offset FROM sluice_offsets"), "7");

  RunResult bad = run_sluice("check-config", s.config + "offsets.table = " + std::string(64, 'o') + "\n");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("offsets.table: \"" + std::string(64, 'o') + "\" is 64 bytes long"), std::string::npos)
      << bad.output;
}

}  // namespace
}  // namespace sluice
