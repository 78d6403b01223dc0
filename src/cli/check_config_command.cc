#include "cli/check_config_command.h"

#include <iostream>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "connectors/kafka/kafka_preflight.h"
#include "sinks/postgres/postgres_preflight.h"
#include "sinks/postgres/postgres_target_catalog.h"
#include "validate/masker.h"
#include "validate/validator_chain.h"

namespace sluice::cli {
namespace {

constexpr std::chrono::seconds kPostgresTimeout{5};
constexpr std::chrono::milliseconds kKafkaTimeout{10000};

void append_lines(std::vector<std::string>& out, const std::string& text) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

int check_config_command(const Config& config) {
  std::cout << "effective configuration (secrets masked):\n";
  for (const auto& [key, value] : config.effective) std::cout << "  " << key << " = " << value << "\n";

  // Rules and masks: syntax, patterns, and tables the configured topics route to.
  std::vector<std::string> configuration;
  if (auto validators = validate::ValidatorChain::create(config, nullptr); !validators) {
    append_lines(configuration, validators.error().message);
  }
  if (auto masker = validate::Masker::create(config); !masker) append_lines(configuration, masker.error().message);

  std::vector<std::string> connectivity = pg::preflight_postgres(config, kPostgresTimeout);
  std::vector<std::string> notes;
  if (connectivity.empty()) {
    std::cout << "PostgreSQL at " << pg::describe_target(config.connection) << ": reachable, privileges fine\n";
    // With the target at hand, the rules' tables and columns can be checked too.
    if (configuration.empty()) {
      pg::PostgresTargetCatalog catalog(config.connection);
      auto validators = validate::ValidatorChain::create(config, &catalog, &notes);
      if (!validators) {
        append_lines(validators.error().reason == "bad_configuration" ? configuration : connectivity,
                     validators.error().message);
      }
    }
  }
  kafka::KafkaPreflight kafka = kafka::preflight_kafka(config, kKafkaTimeout);
  if (kafka.problems.empty()) std::cout << "Kafka: brokers reachable, topics present\n";
  connectivity.insert(connectivity.end(), kafka.problems.begin(), kafka.problems.end());
  notes.insert(notes.end(), kafka.notes.begin(), kafka.notes.end());

  for (const std::string& note : notes) std::cout << "note: " << note << "\n";
  if (!configuration.empty()) {
    std::cerr << "sluice: bad configuration:\n";
    for (const std::string& problem : configuration) std::cerr << problem << "\n";
  }
  if (!connectivity.empty()) {
    std::cerr << "sluice: connectivity problems:\n";
    for (const std::string& problem : connectivity) std::cerr << problem << "\n";
  }
  if (!configuration.empty()) return kExitUsage;
  if (!connectivity.empty()) return kExitRuntime;
  std::cout << "configuration is valid and every service is reachable\n";
  return kExitOk;
}

}  // namespace sluice::cli
