// SQLSTATE classification: the one place where PostgreSQL's error codes are
// mapped to how the pipeline reacts (retry, dead-letter the row, stop).
// Pure functions over static tables; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "sluice/error.h"

namespace sluice::pg {

// How a failed statement is handled.
//  kTransient: connection lost or bad, 08xxx, 40001, 40P01, 57P01-57P03, 53xxx,
//              55P03; nothing committed, retry the batch.
//  kRecord:    22xxx data exceptions and 23xxx integrity violations; a row is
//              bad, isolate it and dead-letter it.
//  kFatal:     28xxx authentication, 42xxx syntax/permission and everything else.
// `sqlstate` empty or malformed (no SQLSTATE: libpq lost the connection) or
// `connection_ok` false is always kTransient.
ErrorClass classify_sqlstate(std::string_view sqlstate, bool connection_ok = true);

// The condition name of `sqlstate` ("check_violation"), or its class name
// ("integrity_constraint_violation") when the exact code is not in the table,
// or "unknown".
std::string_view sqlstate_name(std::string_view sqlstate);

// "23514 check_violation": the reason carried by errors and rejects.
std::string sqlstate_reason(std::string_view sqlstate);

}  // namespace sluice::pg
