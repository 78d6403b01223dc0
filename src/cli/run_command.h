// `sluice run`: wires source, decoder, router, validators, sink and the
// dead-letter producer into a Pipeline and runs it until a signal, a fatal
// error or (with --until-caught-up) the end of every assigned partition.
#pragma once

#include "sluice/config.h"

namespace sluice::cli {

// Returns the process exit code (0 success, 1 runtime failure).
int run_command(const Config& config, bool until_caught_up);

}  // namespace sluice::cli
