#include "debezium_workload.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <unordered_map>

namespace sluice::workload {
namespace {

// One row of the source table `inventory.public.orders`.
struct Row {
  int64_t id = 0;
  int64_t customer_id = 0;
  int64_t amount_cents = 0;  // numeric(12,2), sent as a Connect Decimal
  std::string status;
  std::string note;
  int64_t created_us = 0;  // MicroTimestamp (timestamp without time zone)
  int32_t updated_days = 0;  // Date
  bool active = true;
  double score = 0;  // multiples of 1/8: exact in binary and in text
};

const char* const kStatuses[] = {"new", "paid", "shipped", "cancelled", "on hold"};

const char* kFields = R"([{"type":"int64","optional":false,"field":"id"},)"
                      R"({"type":"int64","optional":false,"field":"customer_id"},)"
                      R"({"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,)"
                      R"("parameters":{"scale":"2","connect.decimal.precision":"12"},"field":"amount"},)"
                      R"({"type":"string","optional":false,"field":"status"},)"
                      R"({"type":"string","optional":true,"field":"note"},)"
                      R"({"type":"int64","optional":false,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"created_at"},)"
                      R"({"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"updated_on"},)"
                      R"({"type":"boolean","optional":false,"field":"active"},)"
                      R"({"type":"double","optional":true,"field":"score"}])";

std::string envelope_schema() {
  std::string fields = kFields;
  return R"({"type":"struct","fields":[)"
         R"({"type":"struct","fields":)" + fields + R"(,"optional":true,"name":"dbserver1.public.orders.Value","field":"before"},)"
         R"({"type":"struct","fields":)" + fields + R"(,"optional":true,"name":"dbserver1.public.orders.Value","field":"after"},)"
         R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},)"
         R"({"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},)"
         R"({"type":"int64","optional":false,"field":"ts_ms"},)"
         R"({"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,)"
         R"("parameters":{"allowed":"true,last,false,incremental"},"default":"false","field":"snapshot"},)"
         R"({"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},)"
         R"({"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},)"
         R"({"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},)"
         R"({"type":"int64","optional":true,"field":"xmin"}],"optional":false,)"
         R"("name":"io.debezium.connector.postgresql.Source","field":"source"},)"
         R"({"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},)"
         R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},)"
         R"({"type":"int64","optional":false,"field":"total_order"},)"
         R"({"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,)"
         R"("name":"event.block","version":1,"field":"transaction"}],)"
         R"("optional":false,"name":"dbserver1.public.orders.Envelope","version":1})";
}

const char* kKeySchema =
    R"({"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"dbserver1.public.orders.Key"})";

std::string base64(const std::string& bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    if (rest == 2) n |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Connect Decimal: the unscaled value as minimal big-endian two's complement.
std::string decimal_bytes(int64_t unscaled) {
  std::string bytes;
  for (int shift = 56; shift >= 0; shift -= 8) bytes += static_cast<char>((unscaled >> shift) & 0xff);
  size_t start = 0;
  while (start + 1 < bytes.size()) {
    auto first = static_cast<uint8_t>(bytes[start]);
    auto next = static_cast<uint8_t>(bytes[start + 1]);
    bool redundant = (first == 0x00 && !(next & 0x80)) || (first == 0xff && (next & 0x80));
    if (!redundant) break;
    ++start;
  }
  return bytes.substr(start);
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string copy_text(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string number(double value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string decimal_text(int64_t cents) {
  char buffer[48];
  uint64_t magnitude = cents < 0 ? uint64_t(-(cents + 1)) + 1 : uint64_t(cents);
  std::snprintf(buffer, sizeof buffer, "%s%llu.%02llu", cents < 0 ? "-" : "",
                static_cast<unsigned long long>(magnitude / 100), static_cast<unsigned long long>(magnitude % 100));
  return buffer;
}

std::string date_text(std::chrono::sys_days day) {
  std::chrono::year_month_day ymd(day);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buffer;
}

std::string timestamp_text(int64_t micros) {
  using namespace std::chrono;
  sys_time<microseconds> time{microseconds(micros)};
  auto day = floor<days>(time);
  auto within = time - day;
  int64_t us = within.count();
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, " %02lld:%02lld:%02lld.%06lld", static_cast<long long>(us / 3'600'000'000),
                static_cast<long long>(us / 60'000'000 % 60), static_cast<long long>(us / 1'000'000 % 60),
                static_cast<long long>(us % 1'000'000));
  return date_text(day) + buffer;
}

// Schemaless scores always carry a fraction, so that sluice infers numeric
// for every row rather than bigint for whole numbers.
std::string fixed_score(double score) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.3f", score);
  return buffer;
}

std::string created_json(const Row& row, bool stamp) {
  return stamp ? std::string(kStampPlaceholder) : std::to_string(row.created_us);
}

std::string row_json(const Row& row, bool with_schema, bool stamp, const std::string& amount_override = "") {
  std::string amount = !amount_override.empty() ? amount_override
                       : with_schema            ? json_string(base64(decimal_bytes(row.amount_cents)))
                                                : json_string(decimal_text(row.amount_cents));
  std::string out = "{\"id\":" + std::to_string(row.id) + ",\"customer_id\":" + std::to_string(row.customer_id) +
                    ",\"amount\":" + amount + ",\"status\":" + json_string(row.status) +
                    ",\"note\":" + json_string(row.note) + ",\"created_at\":" + created_json(row, stamp) +
                    ",\"updated_on\":" + std::to_string(row.updated_days) +
                    ",\"active\":" + (row.active ? "true" : "false") +
                    ",\"score\":" + (with_schema ? number(row.score) : fixed_score(row.score)) + "}";
  return out;
}

std::string row_copy_line(const Row& row, bool with_schema, bool stamp) {
  using namespace std::chrono;
  // Stamped rows carry the placeholder (the consumer sees the produce time).
  int64_t created_us = stamp ? std::stoll(kStampPlaceholder) : row.created_us;
  std::string created = with_schema ? timestamp_text(created_us) : std::to_string(created_us);
  std::string updated = with_schema ? date_text(sys_days{days{row.updated_days}}) : std::to_string(row.updated_days);
  return std::to_string(row.id) + '\t' + std::to_string(row.customer_id) + '\t' + decimal_text(row.amount_cents) +
         '\t' + copy_text(row.status) + '\t' + copy_text(row.note) + '\t' + created + '\t' + updated + '\t' +
         (row.active ? "t" : "f") + '\t' + (with_schema ? number(row.score) : fixed_score(row.score)) + '\n';
}

class Generator {
 public:
  explicit Generator(const WorkloadSpec& spec) : spec_(spec), random_(spec.seed) {
    if (spec_.with_schema) schema_prefix_ = R"({"schema":)" + envelope_schema() + R"(,"payload":)";
  }

  void run(DebeziumWorkload& out, std::vector<WorkloadRecord>& records, uint64_t& invalid, uint64_t counts[4]) {
    std::uniform_real_distribution<double> unit(0, 1);
    double total = spec_.creates + spec_.updates + spec_.deletes;
    while (records.size() < spec_.events) {
      if (unit(random_) < spec_.invalid) {
        records.push_back(malformed());
        ++invalid;
        continue;
      }
      double pick = unit(random_) * total;
      if (pick < spec_.creates || live_ids_.empty()) {
        if (create(records)) {
          ++counts[0];
          continue;
        }
        pick = spec_.creates;  // key space full: update instead
      }
      if (pick < spec_.creates + spec_.updates) {
        update(records);
        ++counts[1];
      } else {
        remove(records);
        ++counts[2];
        if (records.size() < spec_.events && unit(random_) < spec_.tombstones) {
          records.push_back(WorkloadRecord{key_json(last_deleted_), std::nullopt, partition_of(last_deleted_), ""});
          ++counts[3];
        }
      }
    }
    (void)out;
  }

  std::string expected() const {
    std::vector<int64_t> ids = live_ids_;
    std::sort(ids.begin(), ids.end());
    std::string text;
    for (int64_t id : ids) text += row_copy_line(rows_.at(id), spec_.with_schema, spec_.stamp_created_at);
    return text;
  }
  size_t live() const { return live_ids_.size(); }

 private:
  int32_t partition_of(int64_t id) const { return static_cast<int32_t>(id % spec_.partitions); }

  std::string key_json(int64_t id) const {
    std::string payload = "{\"id\":" + std::to_string(id) + "}";
    if (!spec_.with_schema) return payload;
    return std::string(R"({"schema":)") + kKeySchema + R"(,"payload":)" + payload + "}";
  }

  std::string envelope(const std::optional<Row>& before, const std::optional<Row>& after, const std::string& op,
                       const std::string& amount_override = "") {
    ++lsn_;
    ts_ms_ += 1 + static_cast<int64_t>(random_() % 3);
    bool stamp = spec_.stamp_created_at;
    std::string payload = "{\"before\":" + (before ? row_json(*before, spec_.with_schema, stamp) : "null") +
                          ",\"after\":" + (after ? row_json(*after, spec_.with_schema, stamp, amount_override) : "null") +
                          R"(,"source":{"version":"2.5.0.Final","connector":"postgresql","name":"dbserver1","ts_ms":)" +
                          std::to_string(ts_ms_) +
                          R"(,"snapshot":"false","db":"inventory","sequence":null,"schema":"public","table":"orders","txId":)" +
                          std::to_string(lsn_ / 3) + ",\"lsn\":" + std::to_string(lsn_ * 64) +
                          R"(,"xmin":null},"op":")" + op + R"(","ts_ms":)" + std::to_string(ts_ms_ + 40) +
                          R"(,"transaction":null})";
    if (!spec_.with_schema) return payload;
    return schema_prefix_ + payload + "}";
  }

  std::string note(int64_t id) {
    // Text that needs escaping in JSON and in COPY, and multi-byte UTF-8.
    std::string text = "order " + std::to_string(id) + " \"gift\" \\ café Ω ";
    text += std::to_string(random_() % 100000);
    while (text.size() < spec_.note_bytes) text += static_cast<char>('a' + random_() % 26);
    return text;
  }

  Row random_row(int64_t id) {
    Row row;
    row.id = id;
    row.customer_id = 1 + static_cast<int64_t>(random_() % 100000);
    row.amount_cents = static_cast<int64_t>(random_() % 2'000'000'000) - 1'000'000'000;
    row.status = kStatuses[random_() % std::size(kStatuses)];
    row.note = note(id);
    // 1960 .. 2040, before 1970 included.
    row.created_us = static_cast<int64_t>(random_() % 2'524'608'000'000'000ULL) - 315'619'200'000'000LL;
    row.updated_days = static_cast<int32_t>(random_() % 29'220) - 3'653;
    row.active = random_() % 4 != 0;
    row.score = static_cast<double>(static_cast<int64_t>(random_() % 16001) - 8000) / 8.0;
    return row;
  }

  bool create(std::vector<WorkloadRecord>& records) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      int64_t id = 1 + static_cast<int64_t>(random_() % spec_.keys);
      if (rows_.contains(id)) continue;
      Row row = random_row(id);
      rows_[id] = row;
      index_[id] = live_ids_.size();
      live_ids_.push_back(id);
      records.push_back(WorkloadRecord{key_json(id), envelope(std::nullopt, row, random_() % 20 == 0 ? "r" : "c"),
                                       partition_of(id), ""});
      mark_stamp(records.back());
      return true;
    }
    return false;
  }

  int64_t random_live() { return live_ids_[random_() % live_ids_.size()]; }

  void update(std::vector<WorkloadRecord>& records) {
    int64_t id = random_live();
    Row before = rows_[id];
    Row after = before;
    after.amount_cents = static_cast<int64_t>(random_() % 2'000'000'000) - 1'000'000'000;
    after.status = kStatuses[random_() % std::size(kStatuses)];
    after.note = note(id);
    after.updated_days = static_cast<int32_t>(random_() % 29'220) - 3'653;
    after.active = !before.active;
    after.score = static_cast<double>(static_cast<int64_t>(random_() % 16001) - 8000) / 8.0;
    rows_[id] = after;
    records.push_back(WorkloadRecord{key_json(id), envelope(before, after, "u"), partition_of(id), ""});
    mark_stamp(records.back());
  }

  // The after image is the last row of the envelope.
  void mark_stamp(WorkloadRecord& record) const {
    if (!spec_.stamp_created_at) return;
    static const std::string kField = std::string("\"created_at\":") + kStampPlaceholder;
    size_t at = record.value->rfind(kField);
    if (at != std::string::npos) record.stamp_at = at + kField.size() - std::strlen(kStampPlaceholder);
  }

  void remove(std::vector<WorkloadRecord>& records) {
    int64_t id = random_live();
    Row before = rows_[id];
    records.push_back(WorkloadRecord{key_json(id), envelope(before, std::nullopt, "d"), partition_of(id), ""});
    size_t slot = index_[id];
    live_ids_[slot] = live_ids_.back();
    index_[live_ids_[slot]] = slot;
    live_ids_.pop_back();
    index_.erase(id);
    rows_.erase(id);
    last_deleted_ = id;
  }

  WorkloadRecord malformed() {
    int64_t id = 1 + static_cast<int64_t>(random_() % spec_.keys);
    Row row = random_row(id);
    WorkloadRecord record{key_json(id), std::nullopt, partition_of(id), ""};
    switch (random_() % 4) {
      case 0: {
        std::string value = envelope(std::nullopt, row, "c");
        record.value = value.substr(0, value.size() / 2);
        record.invalid = "truncated_json";
        break;
      }
      case 1:
        record.value = envelope(std::nullopt, row, "x");
        record.invalid = "unknown_op";
        break;
      case 2:
        if (spec_.with_schema) {
          record.value = envelope(std::nullopt, row, "c", "\"!!not-base64!!\"");
          record.invalid = "invalid_base64";
        } else {
          // Schemaless columns take the type of what they carry: a wrongly
          // typed value is not malformed there, so truncate instead.
          std::string value = envelope(std::nullopt, row, "c");
          record.value = value.substr(0, value.size() / 3);
          record.invalid = "truncated_json";
        }
        break;
      default:
        record.value = envelope(std::nullopt, std::nullopt, "c");
        record.invalid = "missing_after";
        break;
    }
    return record;
  }

  const WorkloadSpec& spec_;
  std::mt19937_64 random_;
  std::string schema_prefix_;
  std::unordered_map<int64_t, Row> rows_;
  std::unordered_map<int64_t, size_t> index_;  // id -> slot in live_ids_
  std::vector<int64_t> live_ids_;
  int64_t last_deleted_ = 0;
  int64_t lsn_ = 1000;
  int64_t ts_ms_ = 1'700'000'000'000;
};

}  // namespace

DebeziumWorkload DebeziumWorkload::generate(const WorkloadSpec& spec) {
  DebeziumWorkload workload;
  workload.spec_ = spec;
  if (workload.spec_.keys == 0) workload.spec_.keys = 2 * std::max<uint64_t>(spec.events, 1);
  workload.records_.reserve(spec.events);
  Generator generator(workload.spec_);
  uint64_t counts[4] = {0, 0, 0, 0};
  generator.run(workload, workload.records_, workload.invalid_records_, counts);
  workload.creates_ = counts[0];
  workload.updates_ = counts[1];
  workload.deletes_ = counts[2];
  workload.tombstones_ = counts[3];
  workload.expected_copy_ = generator.expected();
  workload.expected_rows_ = generator.live();
  for (const auto& record : workload.records_) {
    workload.payload_bytes_ += record.key.size() + (record.value ? record.value->size() : 0);
  }
  return workload;
}

const std::vector<std::string>& DebeziumWorkload::column_names() {
  static const std::vector<std::string> names = {"id",         "customer_id", "amount", "status", "note",
                                                 "created_at", "updated_on",  "active", "score"};
  return names;
}

uint64_t DebeziumWorkload::count(char op) const {
  switch (op) {
    case 'c':
      return creates_;
    case 'u':
      return updates_;
    case 'd':
      return deletes_;
    case 't':
      return tombstones_;
    default:
      return 0;
  }
}

}  // namespace sluice::workload
