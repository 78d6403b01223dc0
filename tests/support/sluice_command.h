// One sluice command run to completion by a test: the configuration written to
// a file, the executable run with it, its output and exit code collected. For
// check-config and `run --until-caught-up`; tests that signal or watch a
// running sluice use SluiceProcess (test_services.h). Not thread-safe (test
// thread).
#pragma once

#include <string>

namespace sluice::testing {

// The exit code (-1 when not a normal exit) and the output, stdout and stderr
// interleaved, of one sluice command.
struct RunResult {
  int exit_code = -1;
  std::string output;
};

// Writes `properties` to a new file in the temp directory; returns its path.
// The caller removes the file.
std::string write_config(const std::string& properties);

// Runs `sluice <args> --config <file of config_text>`, killed after 120 s, and
// removes the file afterwards.
RunResult run_sluice(const std::string& args, const std::string& config_text);

}  // namespace sluice::testing
