// Pre-flight checks of the PostgreSQL side for `sluice check-config`: the
// server is reachable and accepts the credentials, the role may create tables
// where schema evolution will create them, and the offsets table is writable
// or creatable. Also the cheap reachability probe behind /readyz.
// Each call opens its own short-lived connection; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "sluice/config.h"

namespace sluice::pg {

// Every problem found, one sentence each, starting with the key to fix
// ("connection.url: cannot connect to PostgreSQL at db:5432/shop: ...").
// Empty when everything is fine. Never contains the password.
std::vector<std::string> preflight_postgres(const Config& config, std::chrono::seconds connect_timeout);

// True when the server answers connection requests (PQping: no login, so
// neither credentials nor a session are spent on it).
bool postgres_reachable(const ConnectionConfig& connection, std::chrono::seconds connect_timeout);

// "host:port/database" of `connection` for messages, without credentials.
std::string describe_target(const ConnectionConfig& connection);

}  // namespace sluice::pg
