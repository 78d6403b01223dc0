#include "command_line.h"

#include <boost/program_options.hpp>
#include <charconv>
#include <sstream>
#include <variant>

#include "config_keys.h"

namespace po = boost::program_options;

namespace sluice {
namespace {

po::options_description common_options() {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "show this help")
      ("config,c", po::value<std::string>(), "configuration file (key = value)")
      ("set", po::value<std::vector<std::string>>()->composing(), "KEY=VALUE override (repeatable)");
  return options;
}

po::options_description options_for(const std::string& command) {
  po::options_description options = common_options();
  if (command == "run") {
    options.add_options()("until-caught-up", "exit 0 once every assigned partition is drained and committed");
  } else if (command == "replay") {
    options.add_options()
        ("from", po::value<std::string>(), "dead-letter topic to replay")
        ("until-caught-up", "exit 0 once the dead-letter topic is drained")
        ("stage", po::value<std::string>(), "only records failed at this stage: decode, validate, sink")
        ("reason", po::value<std::string>(), "only records whose reason contains this text")
        ("source-topic", po::value<std::string>(), "only records from this original topic")
        ("table", po::value<std::string>(), "only records for this table")
        ("since", po::value<std::string>(), "only records whose original Kafka timestamp is at or after TIME")
        ("until", po::value<std::string>(), "only records whose original Kafka timestamp is before TIME")
        ("failed-since", po::value<std::string>(), "only records that failed at or after TIME")
        ("failed-until", po::value<std::string>(), "only records that failed before TIME");
    options.add(po::options_description(
        "TIME is milliseconds since the epoch or ISO 8601 (2026-12-01, 2026-12-01T10:00:00Z, ...+01:00)"));
  } else if (command == "dlq stats") {
    options.add_options()
        ("topic", po::value<std::string>(), "dead-letter topic to summarise")
        ("json", "print JSON instead of a table");
  }
  return options;
}

const char* summary(const std::string& command) {
  if (command == "run") return "sluice run --config FILE [--set KEY=VALUE ...] [--until-caught-up]";
  if (command == "replay") return "sluice replay --config FILE --from DLQ_TOPIC [filters] [--until-caught-up]";
  if (command == "dlq stats") return "sluice dlq stats --config FILE --topic DLQ_TOPIC [--json]";
  if (command == "check-config") return "sluice check-config --config FILE [--set KEY=VALUE ...]";
  return "";
}

}  // namespace

std::optional<int64_t> parse_time_ms(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789") == std::string::npos) {
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return ms;
  }
  // YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|(+|-)HH[:]MM]
  size_t at = 0;
  auto digits = [&](size_t count, int& out) {
    if (at + count > text.size()) return false;
    out = 0;
    for (size_t i = 0; i < count; ++i) {
      char c = text[at + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    at += count;
    return true;
  };
  auto expect = [&](char c) {
    if (at < text.size() && text[at] == c) {
      ++at;
      return true;
    }
    return false;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(4, year) || !expect('-') || !digits(2, month) || !expect('-') || !digits(2, day)) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  int64_t offset_minutes = 0;
  if (at < text.size()) {
    if (!expect('T') && !expect(' ')) return std::nullopt;
    if (!digits(2, hour) || !expect(':') || !digits(2, minute)) return std::nullopt;
    if (expect(':')) {
      if (!digits(2, second)) return std::nullopt;
      if (expect('.')) {
        int scale = 100;
        size_t start = at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
          millis += (text[at] - '0') * scale;
          scale /= 10;
          ++at;
        }
        if (at == start) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (expect('Z')) {
    } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
      int sign = text[at] == '-' ? -1 : 1;
      ++at;
      int oh = 0, om = 0;
      if (!digits(2, oh)) return std::nullopt;
      expect(':');
      if (!digits(2, om) || oh > 23 || om > 59) return std::nullopt;
      offset_minutes = sign * (oh * 60 + om);
    }
    if (at != text.size()) return std::nullopt;
  }
  // Days from the civil date (proleptic Gregorian), after H. Hinnant's algorithm.
  int y = year - (month <= 2 ? 1 : 0);
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = static_cast<int64_t>(era) * 146097 + doe - 719468;
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::string usage_text(const std::string& command) {
  std::ostringstream out;
  if (command.empty()) {
    out << "sluice: applies Debezium change events from Kafka to PostgreSQL, exactly once.\n\n"
           "Usage:\n"
           "  " << summary("run") << "\n"
           "  " << summary("replay") << "\n"
           "  " << summary("dlq stats") << "\n"
           "  " << summary("check-config") << "\n"
           "  sluice --version | --help | COMMAND --help\n\n"
           "Configuration keys may also be given as environment variables SLUICE_<KEY>\n"
           "(dots and dashes become underscores, upper case). Precedence: --set > environment > file > default.\n\n"
           "Exit codes: 0 success, 1 runtime failure, 2 bad command line or configuration.\n\n"
           "Configuration keys:\n";
    for (const auto& spec : config::key_specs()) {
      out << "  " << spec.name;
      if (!spec.default_value.empty()) out << " (default " << spec.default_value << ")";
      out << "\n      " << spec.description << "\n";
    }
    out << "  kafka.*\n      passed to librdkafka (bootstrap.servers, security.protocol, sasl.*, ssl.*)\n"
           "  validate.<table>.<column>, mask.<table>.<column>\n      data-quality rules and masking\n";
    return out.str();
  }
  out << "Usage: " << summary(command) << "\n\n" << options_for(command);
  return out.str();
}

std::variant<CommandLine, CommandLineError> parse_command_line(int argc, const char* const* argv) {
  CommandLine result;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return CommandLineError{"no command given; see sluice --help"};
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    result.command = Command::kHelp;
    return result;
  }
  if (args[0] == "--version") {
    result.command = Command::kVersion;
    return result;
  }
  std::string command = args[0];
  size_t consumed = 1;
  if (command == "dlq") {
    if (args.size() < 2 || args[1] != "stats") return CommandLineError{"unknown dlq command; expected 'sluice dlq stats'"};
    command = "dlq stats";
    consumed = 2;
  }
  if (command == "run") {
    result.command = Command::kRun;
  } else if (command == "replay") {
    result.command = Command::kReplay;
  } else if (command == "dlq stats") {
    result.command = Command::kDlqStats;
  } else if (command == "check-config") {
    result.command = Command::kCheckConfig;
  } else {
    return CommandLineError{"unknown command '" + command + "'; see sluice --help"};
  }

  po::options_description options = options_for(command);
  po::variables_map vm;
  try {
    std::vector<std::string> rest(args.begin() + static_cast<long>(consumed), args.end());
    po::store(po::command_line_parser(rest).options(options).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return CommandLineError{command + ": " + e.what()};
  }
  if (vm.count("help")) {
    result.help_topic = command;
    result.command = Command::kHelp;
    return result;
  }
  if (!vm.count("config")) return CommandLineError{command + ": --config FILE is required"};
  result.sources.file = vm["config"].as<std::string>();
  if (vm.count("set")) {
    for (const std::string& assignment : vm["set"].as<std::vector<std::string>>()) {
      size_t eq = assignment.find('=');
      if (eq == std::string::npos || eq == 0) return CommandLineError{"--set " + assignment + ": expected KEY=VALUE"};
      result.sources.overrides.emplace_back(assignment.substr(0, eq), assignment.substr(eq + 1));
    }
  }
  result.until_caught_up = vm.count("until-caught-up") > 0;
  result.json = vm.count("json") > 0;
  if (result.command == Command::kReplay) {
    if (!vm.count("from")) return CommandLineError{"replay: --from DLQ_TOPIC is required"};
    result.dlq_topic = vm["from"].as<std::string>();
    if (vm.count("stage")) result.filters.stage = vm["stage"].as<std::string>();
    if (vm.count("reason")) result.filters.reason_contains = vm["reason"].as<std::string>();
    if (vm.count("source-topic")) result.filters.source_topic = vm["source-topic"].as<std::string>();
    if (vm.count("table")) result.filters.table = vm["table"].as<std::string>();
    for (auto [name, target] : {std::pair{"since", &result.filters.since_ms}, std::pair{"until", &result.filters.until_ms},
                                std::pair{"failed-since", &result.filters.failed_since_ms},
                                std::pair{"failed-until", &result.filters.failed_until_ms}}) {
      if (!vm.count(name)) continue;
      std::string text = vm[name].as<std::string>();
      *target = parse_time_ms(text);
      if (!*target) {
        return CommandLineError{std::string("replay: --") + name + " '" + text +
                                "' is not a time (milliseconds since the epoch or ISO 8601)"};
      }
    }
    if (!result.filters.stage.empty() && result.filters.stage != "decode" && result.filters.stage != "validate" &&
        result.filters.stage != "sink") {
      return CommandLineError{"replay: --stage must be decode, validate or sink"};
    }
  }
  if (result.command == Command::kDlqStats) {
    if (!vm.count("topic")) return CommandLineError{"dlq stats: --topic DLQ_TOPIC is required"};
    result.dlq_topic = vm["topic"].as<std::string>();
  }
  return result;
}

}  // namespace sluice
