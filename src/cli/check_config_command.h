// `sluice check-config`: validates the configuration, then connectivity
// (PostgreSQL reachable and the role's privileges, Kafka brokers reachable and
// the topics present), and prints the effective configuration with secrets
// masked. Every problem is reported, each naming the key to fix.
#pragma once

#include "sluice/config.h"

namespace sluice::cli {

// Returns the exit code: 0 all fine; 2 a configuration problem (a rule, a mask,
// a column the target does not have); 1 a connectivity problem only.
int check_config_command(const Config& config);

}  // namespace sluice::cli
