// Operations end to end with the real sluice executable, a real PostgreSQL and
// the dev broker: while sluice consumes a live topic, /metrics shows applied
// and rejected counts and per-partition lag and /healthz and /readyz answer
// 200; SIGTERM makes it exit 0 within 10 s with the table matching the stored
// offsets exactly; secrets never reach the logs, check-config or /metrics;
// check-config names the key of every problem it finds.
#include <gtest/gtest.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafkacpp.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/sluice_command.h"
#include "tests/support/test_services.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using testing::dev_broker;
using testing::postgres;
using testing::query;
using testing::query_value;
using testing::run_sluice;
using testing::RunResult;
using testing::SluiceProcess;
using testing::unique_name;
using testing::write_config;

constexpr const char* kDatabasePassword = "pg-Secret-7f3a9c";
constexpr const char* kSaslPassword = "sasl-Secret-2b8e41";
constexpr int kPartitions = 2;

// Record k of partition p: id p * 1'000'000 + k. Every 50th fails validation
// (quantity -1, rule min:0) and every 97th is not JSON (stage decode).
bool fails_validation(int64_t offset) { return offset % 50 == 7; }
bool malformed(int64_t offset) { return offset % 97 == 11; }

std::string event_value(int partition, int64_t offset) {
  if (malformed(offset)) return "{not json";
  int64_t id = partition * 1'000'000 + offset;
  int quantity = fails_validation(offset) ? -1 : static_cast<int>(offset % 10);
  std::string after = "{\"id\":" + std::to_string(id) + ",\"quantity\":" + std::to_string(quantity) +
                      ",\"part\":" + std::to_string(partition) + ",\"off\":" + std::to_string(offset) + "}";
  return R"({"before":null,"after":)" + after +
         R"(,"source":{"connector":"postgresql","db":"inventory","schema":"public","table":"orders","ts_ms":5,"lsn":100},"op":"c","ts_ms":6})";
}

// Produces record after record to every partition of `topic` (explicit
// partitions, idempotent, so offsets are 0, 1, 2, ... in produce order) until
// stopped. produced(p) is how many records of partition p were acknowledged.
class LiveProducer {
 public:
  explicit LiveProducer(std::string topic) : topic_(std::move(topic)) {
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", dev_broker().bootstrap_servers(), error);
    conf->set("enable.idempotence", "true", error);
    conf->set("linger.ms", "5", error);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (!producer_) throw std::runtime_error("producer: " + error);
  }
  ~LiveProducer() { stop(); }

  // Produces `count` records per partition now and waits for them.
  void produce_now(int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      for (int p = 0; p < kPartitions; ++p) produce_one(p);
    }
    if (producer_->flush(30000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("flush timed out");
  }
  void start() {
    thread_ = std::thread([this] {
      while (!stop_) {
        for (int i = 0; i < 20; ++i) {
          for (int p = 0; p < kPartitions; ++p) produce_one(p);
        }
        producer_->flush(10000);
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (producer_) producer_->flush(30000);
  }
  int64_t produced(int partition) const { return next_[static_cast<size_t>(partition)]; }

 private:
  void produce_one(int partition) {
    int64_t offset = next_[static_cast<size_t>(partition)];
    std::string key = "{\"id\":" + std::to_string(partition * 1'000'000 + offset) + "}";
    std::string value = event_value(partition, offset);
    for (;;) {
      RdKafka::ErrorCode code = producer_->produce(topic_, partition, RdKafka::Producer::RK_MSG_COPY, value.data(),
                                                   value.size(), key.data(), key.size(), 0, nullptr);
      if (code == RdKafka::ERR_NO_ERROR) break;
      if (code != RdKafka::ERR__QUEUE_FULL) throw std::runtime_error(RdKafka::err2str(code));
      producer_->poll(100);
    }
    ++next_[static_cast<size_t>(partition)];
  }

  std::string topic_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::array<std::atomic<int64_t>, kPartitions> next_{};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Fixture {
  std::string url;
  std::string topic;
  std::string dlq;
  std::string table;
  std::string group;
  std::string config;  // properties text
};

Fixture set_up() {
  Fixture s;
  s.url = postgres().create_database(unique_name("ops"));
  s.topic = unique_name("ops_orders");
  s.dlq = unique_name("ops_dlq");
  s.table = unique_name("ops_orders");
  s.group = unique_name("ops_group");
  dev_broker().create_topic(s.topic, kPartitions);
  dev_broker().create_topic(s.dlq, 1);
  query(s.url, "CREATE TABLE " + s.table + " (id bigint PRIMARY KEY, quantity integer, part integer, off bigint)");
  s.config = "topics = " + s.topic + "\n" + "connection.url = " + s.url + "\n" +
             "connection.password = " + kDatabasePassword + "\n" +
             "kafka.bootstrap.servers = " + dev_broker().bootstrap_servers() + "\n" +
             "kafka.sasl.password = " + kSaslPassword + "\n" + "kafka.group.id = " + s.group + "\n" +
             "kafka.session.timeout.ms = 3000\n" + "kafka.heartbeat.interval.ms = 500\n" +
             "errors.deadletterqueue.topic.name = " + s.dlq + "\n" + "table.name.format = " + s.table + "\n" +
             "validate." + s.table + ".quantity = min:0\n" + "batch.size = 500\n";
  return s;
}

// The value of the sample `series` (name with its labels, as rendered).
std::optional<double> sample(const std::string& metrics, const std::string& series) {
  std::istringstream lines(metrics);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

// The port sluice logged for its metrics endpoint (metrics.listen = 127.0.0.1:0).
int wait_for_metrics_port(const SluiceProcess& process) {
  const std::string announced = "metrics on http://127.0.0.1:";
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = process.log();
    if (size_t at = log.find(announced); at != std::string::npos) {
      return std::atoi(log.c_str() + at + announced.size());
    }
    std::this_thread::sleep_for(50ms);
  }
  return -1;
}

int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(Operations, MetricsHealthAndGracefulShutdownOnALiveTopic) {
  Fixture s = set_up();
  LiveProducer producer(s.topic);
  producer.produce_now(300);  // enough for validation rejects and decode rejects on both partitions

  std::string config_path =
      write_config(s.config + "metrics.listen = 127.0.0.1:0\nlog.format = json\n");
  SluiceProcess sluice({"run", "--config", config_path}, "/tmp/" + s.table + ".log");
  int port = wait_for_metrics_port(sluice);
  ASSERT_GT(port, 0) << sluice.log();
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(5, 0);

  // Everything produced so far applied, while more keeps arriving.
  producer.start();
  std::string metrics;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  const std::string rejected_validate = R"(sluice_events_rejected_total{stage="validate"})";
  for (;;) {
    auto response = http.Get("/metrics");
    if (response && response->status == 200) {
      metrics = response->body;
      if (sample(metrics, "sluice_events_applied_total").value_or(0) >= 2 * 280 &&
          sample(metrics, rejected_validate).value_or(0) > 0 &&
          sample(metrics, R"(sluice_consumer_lag{topic=")" + s.topic + R"(",partition="0"})") &&
          sample(metrics, R"(sluice_consumer_lag{topic=")" + s.topic + R"(",partition="1"})")) {
        break;
      }
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << metrics << sluice.log();
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_GT(sample(metrics, R"(sluice_events_rejected_total{stage="decode"})").value_or(0), 0) << metrics;
  EXPECT_GT(sample(metrics, R"(sluice_validation_rejects_total{table=")" + s.table + R"(",rule="min:0"})").value_or(0), 0)
      << metrics;
  EXPECT_GT(sample(metrics, R"(sluice_events_consumed_total{topic=")" + s.topic + "\"}").value_or(0), 0) << metrics;
  EXPECT_GT(sample(metrics, "sluice_dead_letter_records_total").value_or(0), 0) << metrics;
  EXPECT_TRUE(sample(metrics, R"(sluice_consumer_lag{topic=")" + s.topic + R"(",partition="0"})")) << metrics;
  EXPECT_GT(sample(metrics, R"(sluice_table_last_commit_timestamp_seconds{table=")" + s.table + "\"}").value_or(0),
            1.7e9)
      << metrics;
  EXPECT_GT(sample(metrics, "sluice_end_to_end_latency_seconds_count").value_or(0), 0) << metrics;
  EXPECT_GT(sample(metrics, "sluice_batch_size_count").value_or(0), 0) << metrics;
  EXPECT_EQ(sample(metrics, "sluice_postgres_up"), 1.0) << metrics;
  EXPECT_EQ(sample(metrics, "sluice_assigned_partitions"), 2.0) << metrics;

  auto health = http.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = http.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_NE(ready->body.find("2 partition(s) assigned"), std::string::npos) << ready->body;

  // SIGTERM while records keep arriving: exit 0 within the 10 s bound.
  sluice.send_signal(SIGTERM);
  auto signalled = std::chrono::steady_clock::now();
  std::optional<int> code = sluice.wait(10s);
  auto took = std::chrono::steady_clock::now() - signalled;
  producer.stop();
  ASSERT_EQ(code, std::optional<int>(0)) << sluice.log();
  EXPECT_LT(took, 10s);

  // The table holds exactly the good records below each stored offset.
  auto stored = query(s.url, "SELECT partition, next_offset FROM sluice_offsets WHERE consumer_group = '" + s.group +
                                 "' AND topic = '" + s.topic + "' ORDER BY partition");
  ASSERT_EQ(stored.size(), static_cast<size_t>(kPartitions));
  for (const auto& row : stored) {
    int partition = std::stoi(*row[0]);
    int64_t next = std::stoll(*row[1]);
    SCOPED_TRACE("partition " + std::to_string(partition) + ", stored next offset " + std::to_string(next));
    EXPECT_GE(next, 300);
    EXPECT_LE(next, producer.produced(partition));
    int64_t good = 0;
    for (int64_t offset = 0; offset < next; ++offset) good += !fails_validation(offset) && !malformed(offset);
    std::string where = " WHERE part = " + std::to_string(partition);
    EXPECT_EQ(query_value(s.url, "SELECT count(*) FROM " + s.table + where), std::to_string(good));
    EXPECT_EQ(query_value(s.url, "SELECT count(*) FROM " + s.table + where + " AND off >= " + std::to_string(next)), "0");
  }

  // Logs: every line valid JSON, no per-record lines, no secret.
  std::string log = sluice.log();
  std::istringstream lines(log);
  std::string line;
  size_t line_count = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++line_count;
    rapidjson::Document parsed;
    parsed.Parse<rapidjson::kParseValidateEncodingFlag>(line.c_str());
    EXPECT_FALSE(parsed.HasParseError()) << line;
    if (!parsed.HasParseError()) {
      EXPECT_TRUE(parsed.IsObject() && parsed.HasMember("message")) << line;
    }
  }
  EXPECT_LT(line_count, 100u) << "about one line per state change, not per record or batch:\n" << log;
  EXPECT_NE(log.find("signal 15"), std::string::npos) << log;
  for (const char* secret : {kDatabasePassword, kSaslPassword}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "secret in the log";
    EXPECT_EQ(metrics.find(secret), std::string::npos) << "secret in /metrics";
  }
  std::filesystem::remove(config_path);
}

TEST(Operations, ReadinessFailsWhilePostgresIsUnreachableButHealthAnswers) {
  Fixture s = set_up();
  int port = closed_port();
  std::string config = s.config + "connection.url = postgresql://127.0.0.1:" + std::to_string(closed_port()) +
                       "/nowhere\nmetrics.listen = 127.0.0.1:" + std::to_string(port) + "\n" +
                       "errors.retry.delay.max.ms = 500\n";
  std::string config_path = write_config(config);
  SluiceProcess sluice({"run", "--config", config_path}, "/tmp/" + s.table + "_unready.log");
  httplib::Client http("127.0.0.1", port);
  std::optional<int> health;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!health && std::chrono::steady_clock::now() < deadline) {
    if (auto response = http.Get("/healthz")) health = response->status;
    else std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(health, std::optional<int>(200)) << sluice.log();
  auto ready = http.Get("/readyz");
  ASSERT_TRUE(ready) << sluice.log();
  EXPECT_EQ(ready->status, 503) << ready->body;
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(sample(metrics->body, "sluice_postgres_up"), 0.0) << metrics->body;
  sluice.send_signal(SIGTERM);
  EXPECT_EQ(sluice.wait(10s), std::optional<int>(0)) << sluice.log();
  EXPECT_EQ(sluice.log().find(kDatabasePassword), std::string::npos);
  std::filesystem::remove(config_path);
}

// Next offsets stored with the rows, by partition (empty before the first commit).
std::map<int, int64_t> stored_offsets(const Fixture& s) {
  std::map<int, int64_t> out;
  try {
    for (const auto& row : query(s.url, "SELECT partition, next_offset FROM sluice_offsets WHERE consumer_group = '" +
                                            s.group + "'")) {
      out[std::stoi(*row[0])] = std::stoll(*row[1]);
    }
  } catch (const std::runtime_error&) {
    // the offsets table does not exist yet
  }
  return out;
}

int64_t count(const std::string& url, const std::string& sql) { return std::stoll(query_value(url, sql).value()); }

// A session holding an ACCESS EXCLUSIVE lock on a table: sluice's next apply
// to it blocks inside PostgreSQL until release().
class TableLock {
 public:
  TableLock(const std::string& url, const std::string& table) : conn_(PQconnectdb(url.c_str()), PQfinish) {
    std::unique_ptr<PGresult, decltype(&PQclear)> result(
        PQexec(conn_.get(), ("BEGIN; LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE").c_str()), PQclear);
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(conn_.get()));
  }
  void release() { conn_.reset(); }

 private:
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, PQfinish};
};

// sluice with its batch stuck behind a lock: 100 records per partition
// committed, 100 more read and blocked in the apply.
struct StuckApply {
  Fixture s = set_up();
  LiveProducer producer{s.topic};
  std::string config_path;
  std::unique_ptr<SluiceProcess> sluice;
  std::unique_ptr<TableLock> lock;

  explicit StuckApply(const std::string& extra_config) {
    config_path = write_config(s.config + "metrics.listen =\n" + extra_config);
    producer.produce_now(100);
    sluice = std::make_unique<SluiceProcess>(std::vector<std::string>{"run", "--config", config_path},
                                             "/tmp/" + s.table + ".log");
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (stored_offsets(s) != std::map<int, int64_t>{{0, 100}, {1, 100}}) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("not committed: " + sluice->log());
      std::this_thread::sleep_for(100ms);
    }
    lock = std::make_unique<TableLock>(s.url, s.table);
    producer.produce_now(100);
    while (count(s.url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                        "wait_event_type = 'Lock'") == 0) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("apply not blocked: " + sluice->log());
      std::this_thread::sleep_for(100ms);
    }
  }
  ~StuckApply() { std::filesystem::remove(config_path); }

  // Releases the lock once sluice's sessions are gone, then checks that
  // nothing past the first 100 records per partition was committed.
  void expect_nothing_more_committed() {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (count(s.url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                        "application_name = 'sluice' AND state <> 'idle'") > 0 &&
           std::chrono::steady_clock::now() < deadline) {
      lock->release();  // the blocked statement may now run, but its session is gone: no COMMIT follows
      std::this_thread::sleep_for(100ms);
    }
    lock->release();
    while (count(s.url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                        "application_name = 'sluice'") > 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(stored_offsets(s), (std::map<int, int64_t>{{0, 100}, {1, 100}}));
    int64_t good = 0;
    for (int64_t offset = 0; offset < 100; ++offset) good += !fails_validation(offset) && !malformed(offset);
    EXPECT_EQ(count(s.url, "SELECT count(*) FROM " + s.table), 2 * good);
  }
};

TEST(Operations, ASecondSignalExitsAtOnceWithoutCommitting) {
  StuckApply stuck("");
  stuck.sluice->send_signal(SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (stuck.sluice->log().find("signal 15") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  stuck.sluice->send_signal(SIGTERM);
  // Well inside the 10 s shutdown bound, which the stuck batch would otherwise use up.
  EXPECT_EQ(stuck.sluice->wait(5s), std::optional<int>(1)) << stuck.sluice->log();
  EXPECT_NE(stuck.sluice->log().find("second signal"), std::string::npos) << stuck.sluice->log();
  stuck.expect_nothing_more_committed();
}

TEST(Operations, AHungDatabaseCannotHoldShutdownPastTheBound) {
  StuckApply stuck("shutdown.timeout.ms = 2000\n");
  stuck.sluice->send_signal(SIGTERM);
  EXPECT_EQ(stuck.sluice->wait(10s), std::optional<int>(1)) << stuck.sluice->log();
  stuck.expect_nothing_more_committed();
}

TEST(CheckConfig, AGoodConfigurationPassesAndPrintsSecretsMasked) {
  Fixture s = set_up();
  RunResult result = run_sluice("check-config", s.config);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("connection.password = ******"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("kafka.sasl.password = ******"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("topics = " + s.topic), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("every service is reachable"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find(kDatabasePassword), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find(kSaslPassword), std::string::npos) << result.output;
}

TEST(CheckConfig, AMisspeltKeyIsAConfigurationProblemNamingTheKey) {
  Fixture s = set_up();
  RunResult result = run_sluice("check-config", s.config + "batch.sise = 3\n");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("batch.sise: unknown key (did you mean batch.size?)"), std::string::npos)
      << result.output;
}

TEST(CheckConfig, AnUnreachableDatabaseIsAConnectivityProblemNamingTheKey) {
  Fixture s = set_up();
  int port = closed_port();
  RunResult result = run_sluice(
      "check-config", s.config + "connection.url = postgresql://127.0.0.1:" + std::to_string(port) + "/shop\n");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("connection.url: cannot connect to PostgreSQL at 127.0.0.1:" + std::to_string(port) +
                               "/shop: "),
            std::string::npos)
      << result.output;
  EXPECT_EQ(result.output.find(kDatabasePassword), std::string::npos) << result.output;
}

TEST(CheckConfig, MissingTopicsAndAnUnreachableBrokerAreNamed) {
  Fixture s = set_up();
  RunResult missing = run_sluice("check-config", s.config + "topics = " + s.topic + ", no_such_topic_x\n");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("topics: topic 'no_such_topic_x' does not exist"), std::string::npos) << missing.output;

  RunResult unreachable = run_sluice(
      "check-config", s.config + "kafka.bootstrap.servers = 127.0.0.1:" + std::to_string(closed_port()) + "\n");
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.output;
  EXPECT_NE(unreachable.output.find("kafka.bootstrap.servers: cannot reach the Kafka brokers at 127.0.0.1:"),
            std::string::npos)
      << unreachable.output;
  EXPECT_EQ(unreachable.output.find(kSaslPassword), std::string::npos) << unreachable.output;
}

TEST(CheckConfig, TheLeastPrivilegeRoleOfTheReadmeIsEnough) {
  Fixture s = set_up();
  std::string role = unique_name("sluice_role");
  std::string database = query_value(s.url, "SELECT current_database()").value();
  query(s.url, "CREATE ROLE " + role + " LOGIN");
  std::string as_role = s.config + "connection.username = " + role + "\n";

  // PostgreSQL 15: only the owner may create in schema public.
  RunResult denied = run_sluice("check-config", as_role);
  EXPECT_EQ(denied.exit_code, 1) << denied.output;
  EXPECT_NE(denied.output.find("schema.evolution: role " + role + " may not CREATE in schema public"),
            std::string::npos)
      << denied.output;
  EXPECT_NE(denied.output.find("offsets.table: table sluice_offsets does not exist and the role may not create it"),
            std::string::npos)
      << denied.output;
  // A history table in a schema of its own needs CREATE on the database too.
  RunResult no_history_schema = run_sluice("check-config", as_role + "history.table.name.format = audit.${topic}\n");
  EXPECT_EQ(no_history_schema.exit_code, 1) << no_history_schema.output;
  EXPECT_NE(no_history_schema.output.find("history.table.name.format: schema audit does not exist and role " + role +
                                          " may not create it"),
            std::string::npos)
      << no_history_schema.output;

  // The grants README.md documents. The table exists already and belongs to
  // another role, so (as README says) its owner adds the stale-event guard's
  // column: the role may write the table but not alter it.
  query(s.url, "GRANT CONNECT, TEMPORARY ON DATABASE " + database + " TO " + role + "; GRANT USAGE, CREATE ON SCHEMA public TO " +
                   role + "; GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO " + role +
                   "; ALTER TABLE " + s.table + " ADD COLUMN __sluice_position bytea");
  RunResult allowed = run_sluice("check-config", as_role);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;

  // And sluice run works under that role.
  LiveProducer producer(s.topic);
  producer.produce_now(20);
  RunResult run = run_sluice("run --until-caught-up", as_role + "metrics.listen =\n");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  // 20 records per partition, less offset 7 (validation) and 11 (not JSON).
  EXPECT_EQ(query_value(s.url, "SELECT count(*) FROM " + s.table), "36");
}

}  // namespace
}  // namespace sluice
