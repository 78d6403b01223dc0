// Logging set-up and the per-module loggers ("kafka", "postgres", "dlq",
// "pipeline", "config"). Loggers are thread-safe spdlog loggers. Never log a
// secret or a record's content at info or above.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "sluice/config.h"

namespace sluice::logging {

// Configures every module logger (format, level); call once at start-up.
void configure(LogFormat format, const std::string& level);

// The logger of `module`, created on first use with the configured settings.
std::shared_ptr<spdlog::logger> get(const std::string& module);

// `text` as the inside of a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD. Used by log.format = json.
std::string json_escape(std::string_view text);

}  // namespace sluice::logging
