// `sluice run`: wires source, decoder, router, validators, sink and the
// dead-letter producer into a Pipeline and runs it until a signal, a fatal
// error or (with --until-caught-up) the end of every assigned partition.
// `sluice replay` runs the same wiring over a dead-letter topic, which is what
// makes a replay behave exactly like live processing.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "pipeline/pipeline.h"
#include "sluice/config.h"

namespace sluice::cli {

// What a command adds to the common wiring.
struct PipelineRunOptions {
  bool until_caught_up = false;
  // Where rejects go: the dead-letter topic (run) or the parking topic
  // (replay); empty means none (only valid with errors.tolerance = none).
  std::string dead_letter_topic;
  // PipelineParts::prepare (replay's filters and lineage).
  std::function<Result<std::optional<RawRecord>>(const RawRecord&)> prepare;
  // Called about once a second on a thread of its own while the pipeline runs,
  // and once more after it stopped (`final` = true).
  std::function<void(const PipelineCounters&, bool final)> on_progress;
};

// Runs the pipeline for `config` (topics, group and sink as configured).
// Returns the process exit code (0 success, 1 runtime failure, 2 configuration).
int run_pipeline(const Config& config, const PipelineRunOptions& options);

// `sluice run`.
int run_command(const Config& config, bool until_caught_up);

}  // namespace sluice::cli
