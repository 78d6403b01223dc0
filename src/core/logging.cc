#include "core/logging.h"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace sluice::logging {
namespace {

std::mutex& settings_mutex() {
  static std::mutex mutex;
  return mutex;
}
LogFormat g_format = LogFormat::kText;
spdlog::level::level_enum g_level = spdlog::level::info;

void apply(spdlog::logger& logger) {
  if (g_format == LogFormat::kJson) {
    logger.set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","module":"%n","message":"%v"})",
                       spdlog::pattern_time_type::utc);
  } else {
    logger.set_pattern("%Y-%m-%d %H:%M:%S.%e %-5l [%n] %v");
  }
  logger.set_level(g_level);
}

}  // namespace

void configure(LogFormat format, const std::string& level) {
  std::lock_guard lock(settings_mutex());
  g_format = format;
  g_level = spdlog::level::from_str(level);
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& logger) { apply(*logger); });
}

std::shared_ptr<spdlog::logger> get(const std::string& module) {
  std::lock_guard lock(settings_mutex());
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = spdlog::stderr_color_mt(module);
  apply(*logger);
  return logger;
}

}  // namespace sluice::logging
