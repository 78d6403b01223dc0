// SQLSTATE classification: the one place where PostgreSQL's error codes are
// mapped to how the pipeline reacts (retry, dead-letter the row, stop).
// Pure functions over static tables; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "sluice/error.h"

namespace sluice::pg {

// How a failed statement is handled.
//  kTransient: connection lost or bad, 08xxx, 40001, 40P01, 57014 (statement
//              timeout, cancel), 57P01-57P03, 53xxx, 55P03; nothing committed,
//              retry the batch.
//  kRecord:    22xxx data exceptions, 23xxx integrity violations, 54000 (a row
//              too large to store or index) and P0001 (a trigger's RAISE
//              EXCEPTION); a row is bad, isolate it and dead-letter it.
//  kFatal:     28xxx authentication, 42xxx syntax/permission, the other 54xxx
//              statement limits and everything else.
// `sqlstate` empty or malformed (no SQLSTATE: libpq lost the connection) or
// `connection_ok` false is always kTransient.
ErrorClass classify_sqlstate(std::string_view sqlstate, bool connection_ok = true);

// How a failed connection attempt is handled. libpq reports no SQLSTATE for a
// failed PQconnectdb, so this is the one place that classifies by libpq's
// message text: kFatal for authentication, unknown role or database and bad
// connection options (retrying cannot help); kTransient otherwise.
// `needs_password` is PQconnectionNeedsPassword(). Server messages follow the
// server's lc_messages; a translated authentication message is retried.
ErrorClass classify_connection_failure(std::string_view message, bool needs_password);

// Whether `sqlstate` says a table changed behind sluice's catalog cache (a
// column or the table dropped, a type changed by another session: 42703
// undefined_column, 42P01 undefined_table, 42804 datatype_mismatch). Fatal as
// classified, but worth one more attempt after reloading the table.
bool means_table_changed(std::string_view sqlstate);

// The condition name of `sqlstate` ("check_violation"), or its class name
// ("integrity_constraint_violation") when the exact code is not in the table,
// or "unknown".
std::string_view sqlstate_name(std::string_view sqlstate);

// "23514 check_violation": the reason carried by errors and rejects.
std::string sqlstate_reason(std::string_view sqlstate);

}  // namespace sluice::pg
