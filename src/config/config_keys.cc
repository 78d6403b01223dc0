#include "config_keys.h"

#include <charconv>
#include <limits>

#include "sluice/identifier.h"
#include "route/router.h"

namespace sluice::config {
namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string item = trim(std::string_view(value).substr(start, comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

std::optional<std::string> parse_bool(const std::string& value, bool& out) {
  if (value == "true") {
    out = true;
  } else if (value == "false") {
    out = false;
  } else {
    return "'" + value + "' is not true or false";
  }
  return std::nullopt;
}

template <typename Int>
std::optional<std::string> parse_int(const std::string& value, Int& out, long long min_value,
                                     long long max_value = std::numeric_limits<long long>::max()) {
  long long parsed = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size()) return "'" + value + "' is not an integer";
  if (parsed < min_value || parsed > max_value) {
    return "'" + value + "' is out of range [" + std::to_string(min_value) + ", " + std::to_string(max_value) + "]";
  }
  out = static_cast<Int>(parsed);
  return std::nullopt;
}

std::optional<std::string> parse_ms(const std::string& value, std::chrono::milliseconds& out, long long min_value) {
  long long ms = 0;
  if (auto error = parse_int(value, ms, min_value, 24LL * 3600 * 1000)) return error;
  out = std::chrono::milliseconds(ms);
  return std::nullopt;
}

template <typename Enum>
std::optional<std::string> parse_enum(const std::string& value, Enum& out,
                                      std::initializer_list<std::pair<const char*, Enum>> choices) {
  std::string names;
  for (const auto& [name, e] : choices) {
    if (value == name) {
      out = e;
      return std::nullopt;
    }
    names += names.empty() ? name : std::string(", ") + name;
  }
  return "'" + value + "' is not one of " + names;
}

std::optional<std::string> parse_field_list(const std::string& value,
                                            std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  for (const std::string& item : split_list(value)) {
    size_t colon = item.rfind(':');
    std::string topic = colon == std::string::npos ? "" : item.substr(0, colon);
    std::string field = colon == std::string::npos ? item : item.substr(colon + 1);
    if (topic == "*") topic.clear();
    if (field.empty()) return "'" + item + "' has no field name (expected topic:field)";
    out.emplace_back(std::move(topic), std::move(field));
  }
  return std::nullopt;
}

// A value naming one PostgreSQL identifier, taken only if PostgreSQL can
// hold it exactly (never truncated).
std::optional<std::string> parse_identifier(const std::string& value, std::string& out) {
  if (value.empty()) return std::string("must not be empty");
  if (auto problem = identifier_problem(value)) return problem;
  out = value;
  return std::nullopt;
}

// An optional table name format: empty, or one the router accepts.
std::optional<std::string> check_table_format(const std::string& value, std::string_view key) {
  if (value.empty()) return std::nullopt;
  auto router = Router::create(value, key);
  if (router) return std::nullopt;
  std::string message = router.error().message;
  if (message.rfind(std::string(key) + ": ", 0) == 0) message.erase(0, key.size() + 2);
  return message;
}

std::vector<KeySpec> build_specs() {
  using C = Config;
  using R = std::optional<std::string>;
  std::vector<KeySpec> s;
  s.push_back({"topics", "", false, "comma-separated topics to consume (or topics.regex)",
               [](C& c, const std::string& v) -> R {
                 c.kafka.topics = split_list(v);
                 return std::nullopt;
               }});
  s.push_back({"topics.regex", "", false, "regular expression of topics to consume (or topics)",
               [](C& c, const std::string& v) -> R {
                 c.kafka.topics_regex = v;
                 return std::nullopt;
               }});
  s.push_back({"connection.url", "", false, "PostgreSQL libpq URI or conninfo; jdbc:postgresql:// accepted",
               [](C& c, const std::string& v) -> R {
                 c.connection.url = v;
                 return std::nullopt;
               }});
  s.push_back({"connection.username", "", false, "PostgreSQL user (overrides the URL's)",
               [](C& c, const std::string& v) -> R {
                 c.connection.username = v;
                 return std::nullopt;
               }});
  s.push_back({"connection.password", "", true, "PostgreSQL password (or connection.password.file)",
               [](C& c, const std::string& v) -> R {
                 c.connection.password = v;
                 return std::nullopt;
               }});
  s.push_back({"insert.mode", "upsert", false,
               "insert, upsert, update, history (every version, SCD type 2) or changelog (every event)",
               [](C& c, const std::string& v) -> R {
                 return parse_enum(v, c.sink.insert_mode,
                                   {{"insert", InsertMode::kInsert}, {"upsert", InsertMode::kUpsert},
                                    {"update", InsertMode::kUpdate}, {"history", InsertMode::kHistory},
                                    {"changelog", InsertMode::kChangelog}});
               }});
  s.push_back({"delete.enabled", "true", false, "apply deletes and tombstones",
               [](C& c, const std::string& v) -> R { return parse_bool(v, c.sink.delete_enabled); }});
  s.push_back({"delete.mode", "hard", false, "hard (DELETE) or soft (keep the row, __deleted = true)",
               [](C& c, const std::string& v) -> R {
                 return parse_enum(v, c.sink.delete_mode, {{"hard", DeleteMode::kHard}, {"soft", DeleteMode::kSoft}});
               }});
  s.push_back({"primary.key.mode", "record_key", false, "record_key, record_value, kafka or none",
               [](C& c, const std::string& v) -> R {
                 return parse_enum(v, c.sink.primary_key_mode,
                                   {{"record_key", PrimaryKeyMode::kRecordKey},
                                    {"record_value", PrimaryKeyMode::kRecordValue},
                                    {"kafka", PrimaryKeyMode::kKafka},
                                    {"none", PrimaryKeyMode::kNone}});
               }});
  s.push_back({"primary.key.fields", "", false, "comma-separated key columns (record_value mode)",
               [](C& c, const std::string& v) -> R {
                 c.sink.primary_key_fields = split_list(v);
                 for (const std::string& field : c.sink.primary_key_fields) {
                   if (auto problem = identifier_problem(field)) return problem;
                 }
                 return std::nullopt;
               }});
  s.push_back({"table.name.format", "${topic}", false,
               "target table; ${topic}, ${source.db}, ${source.schema}, ${source.table}; dots become _",
               [](C& c, const std::string& v) -> R {
                 if (v.empty()) return std::string("must not be empty");
                 // A format without placeholders names one table for every
                 // event: a literal dot splits the schema from the table.
                 if (v.find("${") == std::string::npos) {
                   size_t dot = v.find('.');
                   if (dot != std::string::npos) {
                     if (auto problem = identifier_problem(v.substr(0, dot))) return "schema " + *problem;
                   }
                   std::string table = dot == std::string::npos ? v : v.substr(dot + 1);
                   if (auto problem = identifier_problem(table)) return "table " + *problem;
                 }
                 c.sink.table_name_format = v;
                 return std::nullopt;
               }});
  s.push_back({"history.table.name.format", "", false,
               "also write every event as a version into this history table (placeholders of table.name.format); "
               "empty: off",
               [](C& c, const std::string& v) -> R {
                 if (auto error = check_table_format(v, "history.table.name.format")) return error;
                 c.sink.history_table_name_format = v;
                 return std::nullopt;
               }});
  s.push_back({"changelog.table.name.format", "", false,
               "also append every event to this changelog table (placeholders of table.name.format); empty: off",
               [](C& c, const std::string& v) -> R {
                 if (auto error = check_table_format(v, "changelog.table.name.format")) return error;
                 c.sink.changelog_table_name_format = v;
                 return std::nullopt;
               }});
  s.push_back({"schema.evolution", "basic", false, "none, or basic (create tables, add and widen columns)",
               [](C& c, const std::string& v) -> R {
                 return parse_enum(v, c.sink.schema_evolution,
                                   {{"none", SchemaEvolution::kNone}, {"basic", SchemaEvolution::kBasic}});
               }});
  s.push_back({"truncate.enabled", "false", false, "apply op t as TRUNCATE",
               [](C& c, const std::string& v) -> R { return parse_bool(v, c.sink.truncate_enabled); }});
  s.push_back({"field.include.list", "", false, "topic:field entries to keep (others dropped)",
               [](C& c, const std::string& v) -> R { return parse_field_list(v, c.sink.field_include); }});
  s.push_back({"field.exclude.list", "", false, "topic:field entries to drop",
               [](C& c, const std::string& v) -> R { return parse_field_list(v, c.sink.field_exclude); }});
  s.push_back({"offsets.table", "sluice_offsets", false, "table holding the committed offsets",
               [](C& c, const std::string& v) -> R {
                 return parse_identifier(v, c.sink.offsets_table);
               }});
  s.push_back({"stale.guard.enabled", "true", false,
               "skip events older than the source position the row (or its delete) already holds",
               [](C& c, const std::string& v) -> R { return parse_bool(v, c.sink.stale_guard); }});
  s.push_back({"stale.guard.column", "__sluice_position", false, "column holding each row's source position",
               [](C& c, const std::string& v) -> R {
                 return parse_identifier(v, c.sink.stale_guard_column);
               }});
  s.push_back({"stale.guard.table", "sluice_deletes", false, "table holding the source positions of deletes",
               [](C& c, const std::string& v) -> R {
                 return parse_identifier(v, c.sink.stale_guard_table);
               }});
  s.push_back({"time.nanos.handling.mode", "reject", false,
               "reject (dead-letter) or truncate time values with digits below the microsecond, which "
               "PostgreSQL cannot keep",
               [](C& c, const std::string& v) -> R {
                 return parse_enum(v, c.sink.nanos_handling,
                                   {{"reject", NanosHandling::kReject}, {"truncate", NanosHandling::kTruncate}});
               }});
  s.push_back({"replay.parking.topic", "", false,
               "where sluice replay sends records that fail again (default <dead-letter topic>.parking)",
               [](C& c, const std::string& v) -> R {
                 c.replay.parking_topic = v;
                 return std::nullopt;
               }});
  s.push_back({"replay.group.id", "", false,
               "consumer group whose stored offsets track replay progress (default <kafka.group.id>.replay)",
               [](C& c, const std::string& v) -> R {
                 c.replay.group_id = v;
                 return std::nullopt;
               }});
  s.push_back({"batch.size", "10000", false, "max events per transaction",
               [](C& c, const std::string& v) -> R { return parse_int(v, c.pipeline.batch_size, 1, 10'000'000); }});
  s.push_back({"batch.max.wait.ms", "50", false, "a non-empty batch closes after this many ms",
               [](C& c, const std::string& v) -> R { return parse_ms(v, c.pipeline.batch_max_wait, 0); }});
  s.push_back({"consumer.max.in.flight.bytes", "67108864", false,
               "fetching pauses while decoded-but-uncommitted records exceed this",
               [](C& c, const std::string& v) -> R {
                 return parse_int(v, c.pipeline.max_in_flight_bytes, 1024 * 1024);
               }});
  s.push_back({"apply.connections", "2", false,
               "PostgreSQL connections applying at once, each for its own share of the partitions",
               [](C& c, const std::string& v) -> R { return parse_int(v, c.pipeline.apply_connections, 1, 64); }});
  s.push_back({"shutdown.timeout.ms", "10000", false, "bound on graceful shutdown after SIGTERM",
               [](C& c, const std::string& v) -> R { return parse_ms(v, c.pipeline.shutdown_timeout, 0); }});
  s.push_back({"errors.tolerance", "all", false, "all (rejects to the DLQ) or none (stop on first reject)",
               [](C& c, const std::string& v) -> R {
                 return parse_enum(v, c.errors.tolerance, {{"all", ErrorsTolerance::kAll}, {"none", ErrorsTolerance::kNone}});
               }});
  s.push_back({"errors.deadletterqueue.topic.name", "", false, "the dead-letter topic",
               [](C& c, const std::string& v) -> R {
                 c.errors.dlq_topic = v;
                 return std::nullopt;
               }});
  s.push_back({"errors.deadletterqueue.context.headers.enable", "true", false, "add __connect.errors.* headers",
               [](C& c, const std::string& v) -> R { return parse_bool(v, c.errors.context_headers); }});
  s.push_back({"errors.deadletterqueue.mask", "false", false,
               "mask dead-letter records too (mask.*); masked records cannot replay their original values",
               [](C& c, const std::string& v) -> R { return parse_bool(v, c.errors.dlq_mask); }});
  s.push_back({"errors.retry.backoff.initial.ms", "100", false, "first wait after a transient failure",
               [](C& c, const std::string& v) -> R { return parse_ms(v, c.errors.retry_backoff_initial, 1); }});
  s.push_back({"errors.retry.delay.max.ms", "10000", false, "cap of the exponential backoff",
               [](C& c, const std::string& v) -> R { return parse_ms(v, c.errors.retry_backoff_max, 1); }});
  s.push_back({"decoder.flattened.prefix", "__", false, "prefix of ExtractNewRecordState metadata fields",
               [](C& c, const std::string& v) -> R {
                 // Empty would make every field metadata.
                 if (v.empty()) return std::string("must not be empty");
                 c.decoder.flattened_prefix = v;
                 return std::nullopt;
               }});
  s.push_back({"decoder.max.record.bytes", "16777216", false, "larger records are rejected (stage decode)",
               [](C& c, const std::string& v) -> R { return parse_int(v, c.decoder.max_record_bytes, 1024); }});
  s.push_back({"decoder.max.nesting.depth", "64", false, "deeper JSON is rejected (stage decode)",
               [](C& c, const std::string& v) -> R { return parse_int(v, c.decoder.max_nesting_depth, 4, 1000); }});
  s.push_back({"metrics.listen", "127.0.0.1:9464", false, "host:port of /metrics, /healthz, /readyz; empty: off",
               [](C& c, const std::string& v) -> R {
                 if (!v.empty() && v.rfind(':') == std::string::npos) return "'" + v + "' is not host:port";
                 c.observability.metrics_listen = v;
                 return std::nullopt;
               }});
  s.push_back({"log.format", "text", false, "text or json",
               [](C& c, const std::string& v) -> R {
                 return parse_enum(v, c.observability.log_format, {{"text", LogFormat::kText}, {"json", LogFormat::kJson}});
               }});
  s.push_back({"log.level", "info", false, "trace, debug, info, warn, error",
               [](C& c, const std::string& v) -> R {
                 std::string ignored;
                 static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
                 for (const char* level : kLevels) {
                   if (v == level) {
                     c.observability.log_level = v;
                     return std::nullopt;
                   }
                 }
                 return "'" + v + "' is not one of trace, debug, info, warn, error, critical, off";
               }});
  s.push_back({"mask.key", "", true, "HMAC key for mask = hash (or mask.key.file)",
               [](C& c, const std::string& v) -> R {
                 c.mask_key = v;
                 return std::nullopt;
               }});
  return s;
}

}  // namespace

const std::vector<KeySpec>& key_specs() {
  static const std::vector<KeySpec> specs = build_specs();
  return specs;
}

const KeySpec* find_key(std::string_view name) {
  for (const KeySpec& spec : key_specs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool is_secret_kafka_property(std::string_view property) {
  return property == "sasl.password" || property == "ssl.key.password" || property == "ssl.keystore.password" ||
         property == "sasl.oauthbearer.client.secret" || property == "ssl.key.pem" ||
         property == "sasl.oauthbearer.config";
}

}  // namespace sluice::config
