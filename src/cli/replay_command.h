// `sluice replay` and `sluice dlq stats`: the commands that deal with what a
// dead-letter topic holds.
#pragma once

#include <string>

#include "config/command_line.h"
#include "sluice/config.h"

namespace sluice::cli {

// Re-applies the records of `dlq_topic` selected by `filters` through the
// current decoder, validators and sink (the same code as `sluice run`); records
// that fail again go to the parking topic. Progress is stored as the offsets of
// its own consumer group, so a replay resumes where it stopped and a second
// replay finds nothing to do. Returns the exit code.
int replay_command(const Config& config, const std::string& dlq_topic, const ReplayFilters& filters,
                   bool until_caught_up);

// Summarises `dlq_topic` on stdout, as a table or as JSON. Returns the exit code.
int dlq_stats_command(const Config& config, const std::string& dlq_topic, bool json);

}  // namespace sluice::cli
