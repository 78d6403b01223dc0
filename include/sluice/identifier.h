// What PostgreSQL can hold as an identifier (a table, schema or column name).
// PostgreSQL keeps only the first 63 bytes of a name (NAMEDATALEN - 1) and
// truncates longer ones without an error, so two names that share their
// first 63 bytes would name the same column; it cannot store a NUL byte or an
// empty name at all. sluice never writes such a name: the sink rejects the
// record, the configuration refuses the key. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

// Bytes of an identifier PostgreSQL keeps (NAMEDATALEN - 1 in a default build).
inline constexpr size_t kMaxIdentifierBytes = 63;

// Why PostgreSQL cannot hold `name` exactly, as a sentence that names it
// ("\"abc...\" is 70 bytes long; PostgreSQL keeps at most 63 bytes of an
// identifier and would truncate it"), or nullopt when it can.
std::optional<std::string> identifier_problem(std::string_view name);

// `name` for messages: bytes below 0x20 as \xNN, at most about 100 bytes
// (cut at a character boundary, then "..."), in double quotes.
std::string identifier_for_display(std::string_view name);

}  // namespace sluice
