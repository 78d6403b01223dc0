#include "command_line.h"

#include <boost/program_options.hpp>
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
        ("since", po::value<int64_t>(), "only records failed at or after this time (ms since epoch)")
        ("until", po::value<int64_t>(), "only records failed before this time (ms since epoch)");
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
    if (vm.count("since")) result.filters.since_ms = vm["since"].as<int64_t>();
    if (vm.count("until")) result.filters.until_ms = vm["until"].as<int64_t>();
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
