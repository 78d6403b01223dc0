// Logging set-up and the per-module loggers ("kafka", "postgres", "dlq",
// "pipeline", "config"). Loggers are thread-safe spdlog loggers. Never log a
// secret or a record's content at info or above.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "sluice/config.h"

namespace sluice::logging {

// Configures every module logger (format, level); call once at start-up.
void configure(LogFormat format, const std::string& level);

// The logger of `module`, created on first use with the configured settings.
std::shared_ptr<spdlog::logger> get(const std::string& module);

}  // namespace sluice::logging
