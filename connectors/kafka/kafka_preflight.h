// Pre-flight checks of the Kafka side for `sluice check-config`: the brokers
// answer a metadata request within a timeout (which also exercises TLS and SASL
// settings), and the configured topics exist. Creates a short-lived client
// that joins no group. Thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "sluice/config.h"

namespace sluice::kafka {

struct KafkaPreflight {
  std::vector<std::string> problems;  // one sentence each, starting with the key to fix
  std::vector<std::string> notes;     // worth knowing, not a problem
};

KafkaPreflight preflight_kafka(const Config& config, std::chrono::milliseconds timeout);

}  // namespace sluice::kafka
