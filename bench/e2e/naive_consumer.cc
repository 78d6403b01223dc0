#include "naive_consumer.h"

#include <libpq-fe.h>
#include <librdkafka/rdkafkacpp.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

namespace sluice::bench {
namespace {

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

void exec(PGconn* connection, const std::string& sql) {
  Result result(PQexec(connection, sql.c_str()), PQclear);
  auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + PQerrorMessage(connection));
  }
}

// Connect Decimal (base64 of a big-endian two's complement) of scale 2 as text.
std::optional<std::string> decimal_from_base64(std::string_view text) {
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t n = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=') {
        ++pad;
        n <<= 6;
        continue;
      }
      int v = sextet(c);
      if (v < 0 || pad > 0) return std::nullopt;
      n = (n << 6) | static_cast<uint32_t>(v);
    }
    bytes.push_back(static_cast<uint8_t>(n >> 16));
    if (pad < 2) bytes.push_back(static_cast<uint8_t>(n >> 8));
    if (pad < 1) bytes.push_back(static_cast<uint8_t>(n));
  }
  if (bytes.empty() || bytes.size() > 8) return std::nullopt;
  int64_t value = (bytes[0] & 0x80) ? -1 : 0;
  for (uint8_t b : bytes) value = static_cast<int64_t>((static_cast<uint64_t>(value) << 8) | b);
  uint64_t magnitude = value < 0 ? uint64_t(-(value + 1)) + 1 : uint64_t(value);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%s%llu.%02llu", value < 0 ? "-" : "",
                static_cast<unsigned long long>(magnitude / 100), static_cast<unsigned long long>(magnitude % 100));
  return std::string(buffer);
}

std::string scalar_text(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsNumber()) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.17g", v.GetDouble());
    return buffer;
  }
  return "";
}

}  // namespace

NaiveResult run_naive_consumer(const NaiveOptions& options) {
  Connection connection(PQconnectdb(options.database_url.c_str()), PQfinish);
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("naive consumer: ") + PQerrorMessage(connection.get()));
  }
  // Conversions a hand-written consumer does in SQL; schemaless records carry
  // the column values as they are.
  std::string created = options.with_schema ? "timestamp 'epoch' + $6::bigint * interval '1 microsecond'" : "$6";
  std::string updated = options.with_schema ? "date '1970-01-01' + $7::int" : "$7";
  std::string upsert = "INSERT INTO " + options.table +
                       " (id, customer_id, amount, status, note, created_at, updated_on, active, score) VALUES "
                       "($1, $2, $3, $4, $5, " +
                       created + ", " + updated +
                       ", $8, $9) ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, "
                       "amount = EXCLUDED.amount, status = EXCLUDED.status, note = EXCLUDED.note, "
                       "created_at = EXCLUDED.created_at, updated_on = EXCLUDED.updated_on, "
                       "active = EXCLUDED.active, score = EXCLUDED.score";
  for (const auto& [name, sql] : {std::pair<std::string, std::string>{"upsert", upsert},
                                  {"remove", "DELETE FROM " + options.table + " WHERE id = $1"}}) {
    Result prepared(PQprepare(connection.get(), name.c_str(), sql.c_str(), 0, nullptr), PQclear);
    if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      throw std::runtime_error("prepare " + name + ": " + PQerrorMessage(connection.get()));
    }
  }

  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [key, value] : std::map<std::string, std::string>{{"bootstrap.servers", options.bootstrap},
                                                                     {"group.id", options.table + "_naive"},
                                                                     {"enable.auto.commit", "false"}}) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(key + ": " + error);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) throw std::runtime_error("cannot create the naive consumer: " + error);
  std::map<int32_t, int64_t> remaining;
  std::vector<RdKafka::TopicPartition*> assignment;
  for (const auto& [partition, end] : options.end_offsets) {
    if (end > 0) remaining[partition] = end;
    assignment.push_back(RdKafka::TopicPartition::create(options.topic, partition, RdKafka::Topic::OFFSET_BEGINNING));
  }

  NaiveResult result;
  auto started = std::chrono::steady_clock::now();
  consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  exec(connection.get(), "BEGIN");
  size_t in_transaction = 0;
  auto commit = [&] {
    exec(connection.get(), "COMMIT");
    consumer->commitAsync();
    in_transaction = 0;
  };
  while (!remaining.empty() && std::chrono::steady_clock::now() - started < options.time_limit) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(100));
    if (message->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (message->err() != RdKafka::ERR_NO_ERROR) throw std::runtime_error("naive consumer: " + message->errstr());
    ++result.records;
    auto it = remaining.find(message->partition());
    if (it != remaining.end() && message->offset() + 1 >= it->second) remaining.erase(it);
    if (message->len() == 0 || !message->key()) continue;  // tombstone: the delete came before it

    rapidjson::Document key, value;
    key.Parse(message->key()->data(), message->key()->size());
    value.Parse(static_cast<const char*>(message->payload()), message->len());
    if (key.HasParseError() || value.HasParseError() || !key.IsObject() || !value.IsObject()) continue;
    const rapidjson::Value& key_payload = options.with_schema && key.HasMember("payload") ? key["payload"] : key;
    const rapidjson::Value& payload = options.with_schema && value.HasMember("payload") ? value["payload"] : value;
    if (!key_payload.IsObject() || !key_payload.HasMember("id") || !payload.IsObject() || !payload.HasMember("op")) {
      continue;
    }
    std::string id = scalar_text(key_payload["id"]);
    std::string op = scalar_text(payload["op"]);
    if (op == "d") {
      const char* params[] = {id.c_str()};
      Result done(PQexecPrepared(connection.get(), "remove", 1, params, nullptr, nullptr, 0), PQclear);
      if (PQresultStatus(done.get()) != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(connection.get()));
    } else if (op == "c" || op == "r" || op == "u") {
      if (!payload.HasMember("after") || !payload["after"].IsObject()) continue;
      const rapidjson::Value& after = payload["after"];
      static const char* const kColumns[] = {"id",         "customer_id", "amount", "status", "note",
                                             "created_at", "updated_on",  "active", "score"};
      std::string texts[9];
      bool complete = true;
      for (size_t i = 0; i < 9 && complete; ++i) {
        auto member = after.FindMember(kColumns[i]);
        complete = member != after.MemberEnd() && !member->value.IsObject() && !member->value.IsArray();
        if (complete) texts[i] = scalar_text(member->value);
      }
      if (!complete) continue;
      if (options.with_schema) {
        auto amount = decimal_from_base64(texts[2]);
        if (!amount) continue;
        texts[2] = *amount;
      }
      const char* params[9];
      for (size_t i = 0; i < 9; ++i) params[i] = texts[i].c_str();
      Result done(PQexecPrepared(connection.get(), "upsert", 9, params, nullptr, nullptr, 0), PQclear);
      if (PQresultStatus(done.get()) != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(connection.get()));
    } else {
      continue;
    }
    ++result.statements;
    if (++in_transaction == options.commit_every) {
      commit();
      exec(connection.get(), "BEGIN");
    }
  }
  commit();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.drained = remaining.empty();
  consumer->close();
  return result;
}

}  // namespace sluice::bench
