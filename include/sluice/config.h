// Configuration: the typed form of every key in the user contract
// (shared/DESIGN.md, README "Configuration"). Built once at start-up by
// load_config() and read-only afterwards, so it may be shared between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/result.h"

namespace sluice {

// kHistory keeps every version of each row (SCD type 2) and kChangelog appends
// every event; see README "History and changelog tables".
enum class InsertMode { kInsert, kUpsert, kUpdate, kHistory, kChangelog };
enum class DeleteMode { kHard, kSoft };
enum class NanosHandling { kReject, kTruncate };
enum class PrimaryKeyMode { kRecordKey, kRecordValue, kKafka, kNone };
enum class SchemaEvolution { kNone, kBasic };
enum class ErrorsTolerance { kAll, kNone };
enum class LogFormat { kText, kJson };

struct KafkaConfig {
  std::vector<std::string> topics;  // `topics`, comma-separated
  std::string topics_regex;         // `topics.regex`; exclusive with `topics`
  // `kafka.*` keys with the prefix removed, passed to librdkafka as they are.
  // Always holds group.id (default "sluice").
  std::map<std::string, std::string> properties;

  const std::string& group_id() const { return properties.at("group.id"); }
};

struct ConnectionConfig {
  std::string url;       // `connection.url`: libpq URI/conninfo, jdbc:postgresql:// accepted
  std::string username;  // `connection.username`
  std::string password;  // `connection.password` (or .file); never logged
};

struct SinkConfig {
  InsertMode insert_mode = InsertMode::kUpsert;
  bool delete_enabled = true;
  DeleteMode delete_mode = DeleteMode::kHard;
  PrimaryKeyMode primary_key_mode = PrimaryKeyMode::kRecordKey;
  std::vector<std::string> primary_key_fields;  // for record_value (and record_key subsets)
  std::string table_name_format = "${topic}";
  // `history.table.name.format` / `changelog.table.name.format`: when set (same
  // placeholders as table_name_format), every event is also written into that
  // table as a history version / changelog row, in the same transaction as
  // its table.name.format table. Empty: off.
  std::string history_table_name_format;
  std::string changelog_table_name_format;
  SchemaEvolution schema_evolution = SchemaEvolution::kBasic;
  bool truncate_enabled = false;
  // `topic:field` entries; empty topic part ("*:f" or "f") applies to every topic.
  std::vector<std::pair<std::string, std::string>> field_include;
  std::vector<std::pair<std::string, std::string>> field_exclude;
  std::string offsets_table = "sluice_offsets";
  // Stale-event guard (`stale.guard.enabled`): each keyed row carries the
  // source position of the event that last wrote it (`stale.guard.column`),
  // deletes leave their position in `stale.guard.table`, and an event older
  // than either is skipped. Costs one bytea column per row and a keyed join
  // per batch; see README "Stale-event guard".
  bool stale_guard = true;
  std::string stale_guard_column = "__sluice_position";
  std::string stale_guard_table = "sluice_deletes";
  // `time.nanos.handling.mode`: what happens to a time, timestamp or interval
  // value with a non-zero digit below the microsecond (NanoTime,
  // NanoTimestamp, ZonedTimestamp with 7-9 fraction digits) bound for a
  // PostgreSQL column of such a type, which keeps microseconds. kReject sends
  // the event to the dead-letter topic (stage sink, reason precision_loss);
  // kTruncate cuts the fraction to six digits, knowingly.
  NanosHandling nanos_handling = NanosHandling::kReject;
};

struct DecoderConfig {
  // Prefix of the metadata fields ExtractNewRecordState adds ("__op", "__deleted", ...).
  std::string flattened_prefix = "__";
  // Records larger than this (key + value bytes) are rejected as oversized.
  size_t max_record_bytes = 16 * 1024 * 1024;
  // JSON nesting deeper than this is rejected; protects the stack.
  int max_nesting_depth = 64;
};

struct ErrorsConfig {
  ErrorsTolerance tolerance = ErrorsTolerance::kAll;
  std::string dlq_topic;            // `errors.deadletterqueue.topic.name`
  bool context_headers = true;      // `errors.deadletterqueue.context.headers.enable`
  // `errors.deadletterqueue.mask`: mask dead-letter keys and values like the
  // table rows. Protects the DLQ topic, but a masked record no longer replays
  // to its original values (see README, Masking).
  bool dlq_mask = false;
  // Backoff for transient failures: first wait, doubled up to the cap.
  std::chrono::milliseconds retry_backoff_initial{100};
  std::chrono::milliseconds retry_backoff_max{10000};
};

struct PipelineConfig {
  size_t batch_size = 10000;                      // max events per transaction
  std::chrono::milliseconds batch_max_wait{50};   // a non-empty batch closes after this
  size_t max_in_flight_bytes = 64 * 1024 * 1024;  // backpressure: pause fetching above this
  // PostgreSQL connections applying batches at once, each for its own share of
  // the partitions (one transaction per connection and batch). More uses more
  // database cores; 1 applies everything in one transaction per batch.
  size_t apply_connections = 2;
  std::chrono::milliseconds shutdown_timeout{10000};
};

// `sluice replay`: where records that fail again go, and whose progress it tracks.
struct ReplayConfig {
  // `replay.parking.topic`; empty means "<dead-letter topic>.parking".
  std::string parking_topic;
  // `replay.group.id`; empty means "<kafka.group.id>.replay". Its offsets (in
  // offsets.table) let a stopped replay resume and a second replay find nothing.
  std::string group_id;
};

struct ObservabilityConfig {
  std::string metrics_listen = "127.0.0.1:9464";  // empty: no HTTP endpoint
  LogFormat log_format = LogFormat::kText;
  std::string log_level = "info";
};

// A configured validation rule set or masking for one table column, as written;
// the validators module parses and checks them.
struct ColumnSetting {
  std::string table;
  std::string column;
  std::string value;
};

struct Config {
  KafkaConfig kafka;
  ConnectionConfig connection;
  SinkConfig sink;
  DecoderConfig decoder;
  ErrorsConfig errors;
  PipelineConfig pipeline;
  ObservabilityConfig observability;
  ReplayConfig replay;
  std::vector<ColumnSetting> validate_rules;  // `validate.<table>.<column>`
  std::vector<ColumnSetting> masks;           // `mask.<table>.<column>`
  std::string mask_key;                       // `mask.key` (or .file); never logged

  // Every effective key and value, secrets replaced by "******", sorted by key.
  std::vector<std::pair<std::string, std::string>> effective;
};

// Where configuration comes from, in increasing precedence: defaults, the
// file, the environment (SLUICE_*), then --set overrides.
struct ConfigSources {
  std::string file;                                        // may be empty
  std::vector<std::pair<std::string, std::string>> overrides;  // --set KEY=VALUE
  bool use_environment = true;
};

// Parses and checks everything. On failure the Error's message lists every
// problem, one per line, each naming its key.
Result<Config> load_config(const ConfigSources& sources);

// Same, from text already in memory (tests, fuzzing); no environment.
Result<Config> parse_config_text(std::string_view properties_text,
                                 const std::vector<std::pair<std::string, std::string>>& overrides = {});

}  // namespace sluice
