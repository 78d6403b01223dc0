// Parsing of sluice's command line (the commands of the user contract).
// The only place that uses Boost.Program_options.
#pragma once

#include <optional>
#include <variant>
#include <string>
#include <vector>

#include "sluice/config.h"

namespace sluice {

enum class Command { kHelp, kVersion, kRun, kReplay, kDlqStats, kCheckConfig };

// Which dead-letter records `sluice replay` selects; unset filters pass all.
// Time bounds are milliseconds since the epoch, lower inclusive, upper exclusive.
struct ReplayFilters {
  std::string stage;            // decode | validate | sink
  std::string reason_contains;  // substring of the rule or the exception message
  std::string source_topic;     // the original topic
  std::string table;            // the target table named by the reject
  std::optional<int64_t> since_ms;  // the original record's Kafka timestamp
  std::optional<int64_t> until_ms;
  std::optional<int64_t> failed_since_ms;  // when it failed (sluice.errors.timestamp)
  std::optional<int64_t> failed_until_ms;
};

// A time given on the command line: milliseconds since the epoch, or ISO 8601
// ("2026-12-01", "2026-12-01T10:00:00Z", "2026-12-01T10:00:00.250+01:00");
// nullopt when it is neither.
std::optional<int64_t> parse_time_ms(const std::string& text);

struct CommandLine {
  Command command = Command::kHelp;
  std::string help_topic;  // command whose --help was asked for; empty: general
  ConfigSources sources;
  bool until_caught_up = false;
  std::string dlq_topic;  // replay --from, dlq stats --topic
  ReplayFilters filters;
  bool json = false;
};

struct CommandLineError {
  std::string message;
};

// Returns the parsed command line, or a message for exit code 2.
std::variant<CommandLine, CommandLineError> parse_command_line(int argc, const char* const* argv);

// Text of `sluice --help` or `sluice COMMAND --help`.
std::string usage_text(const std::string& command);

}  // namespace sluice
