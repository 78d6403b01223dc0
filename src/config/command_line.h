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

struct ReplayFilters {
  std::string stage;            // decode | validate | sink
  std::string reason_contains;  // substring of the reason / exception message
  std::string source_topic;
  std::string table;
  std::optional<int64_t> since_ms;  // failure or original timestamp lower bound
  std::optional<int64_t> until_ms;
};

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
