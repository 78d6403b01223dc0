#include "sinks/postgres/sqlstate.h"

#include <array>
#include <utility>

namespace sluice::pg {
namespace {

struct Condition {
  std::string_view code;  // five characters, or two for a whole class
  std::string_view name;
  ErrorClass error_class;
};

// Exact codes take precedence over their class. Order does not matter.
constexpr std::array kExact = {
    Condition{"40001", "serialization_failure", ErrorClass::kTransient},
    Condition{"40P01", "deadlock_detected", ErrorClass::kTransient},
    Condition{"57P01", "admin_shutdown", ErrorClass::kTransient},
    Condition{"57P02", "crash_shutdown", ErrorClass::kTransient},
    Condition{"57P03", "cannot_connect_now", ErrorClass::kTransient},
    // statement_timeout or an operator's pg_cancel_backend: nothing committed,
    // the batch is worth retrying.
    Condition{"57014", "query_canceled", ErrorClass::kTransient},
    Condition{"55P03", "lock_not_available", ErrorClass::kTransient},
    Condition{"53100", "disk_full", ErrorClass::kTransient},
    Condition{"53200", "out_of_memory", ErrorClass::kTransient},
    Condition{"53300", "too_many_connections", ErrorClass::kTransient},
    Condition{"08000", "connection_exception", ErrorClass::kTransient},
    Condition{"08003", "connection_does_not_exist", ErrorClass::kTransient},
    Condition{"08006", "connection_failure", ErrorClass::kTransient},
    Condition{"08001", "sqlclient_unable_to_establish_sqlconnection", ErrorClass::kTransient},
    Condition{"08004", "sqlserver_rejected_establishment_of_sqlconnection", ErrorClass::kTransient},
    Condition{"22001", "string_data_right_truncation", ErrorClass::kRecord},
    Condition{"22003", "numeric_value_out_of_range", ErrorClass::kRecord},
    Condition{"22007", "invalid_datetime_format", ErrorClass::kRecord},
    Condition{"22008", "datetime_field_overflow", ErrorClass::kRecord},
    Condition{"22012", "division_by_zero", ErrorClass::kRecord},
    Condition{"22021", "character_not_in_repertoire", ErrorClass::kRecord},
    Condition{"22P02", "invalid_text_representation", ErrorClass::kRecord},
    Condition{"22P05", "untranslatable_character", ErrorClass::kRecord},
    Condition{"22023", "invalid_parameter_value", ErrorClass::kRecord},
    Condition{"2200N", "invalid_xml_content", ErrorClass::kRecord},
    Condition{"22030", "duplicate_json_object_key_value", ErrorClass::kRecord},
    Condition{"22032", "invalid_json_text", ErrorClass::kRecord},
    Condition{"23000", "integrity_constraint_violation", ErrorClass::kRecord},
    Condition{"23001", "restrict_violation", ErrorClass::kRecord},
    Condition{"23502", "not_null_violation", ErrorClass::kRecord},
    Condition{"23503", "foreign_key_violation", ErrorClass::kRecord},
    Condition{"23505", "unique_violation", ErrorClass::kRecord},
    Condition{"23514", "check_violation", ErrorClass::kRecord},
    Condition{"23P01", "exclusion_violation", ErrorClass::kRecord},
    // A row the server cannot store ("index row size exceeds maximum", "row is
    // too big"); the statement-level limits of class 54 stay fatal.
    Condition{"54000", "program_limit_exceeded", ErrorClass::kRecord},
    Condition{"54001", "statement_too_complex", ErrorClass::kFatal},
    Condition{"54011", "too_many_columns", ErrorClass::kFatal},
    Condition{"54023", "too_many_arguments", ErrorClass::kFatal},
    // RAISE EXCEPTION without a code, typically a trigger refusing a row.
    Condition{"P0001", "raise_exception", ErrorClass::kRecord},
    Condition{"28000", "invalid_authorization_specification", ErrorClass::kFatal},
    Condition{"28P01", "invalid_password", ErrorClass::kFatal},
    Condition{"42501", "insufficient_privilege", ErrorClass::kFatal},
    Condition{"42601", "syntax_error", ErrorClass::kFatal},
    Condition{"42703", "undefined_column", ErrorClass::kFatal},
    Condition{"42P01", "undefined_table", ErrorClass::kFatal},
    Condition{"42804", "datatype_mismatch", ErrorClass::kFatal},
    Condition{"25P02", "in_failed_sql_transaction", ErrorClass::kFatal},
};

// Whole classes (first two characters). Anything absent here is fatal.
constexpr std::array kClasses = {
    Condition{"08", "connection_exception", ErrorClass::kTransient},
    Condition{"53", "insufficient_resources", ErrorClass::kTransient},
    Condition{"22", "data_exception", ErrorClass::kRecord},
    Condition{"23", "integrity_constraint_violation", ErrorClass::kRecord},
    Condition{"28", "invalid_authorization_specification", ErrorClass::kFatal},
    Condition{"42", "syntax_error_or_access_rule_violation", ErrorClass::kFatal},
    Condition{"40", "transaction_rollback", ErrorClass::kFatal},
    Condition{"55", "object_not_in_prerequisite_state", ErrorClass::kFatal},
    Condition{"57", "operator_intervention", ErrorClass::kFatal},
    Condition{"54", "program_limit_exceeded", ErrorClass::kFatal},
    Condition{"P0", "plpgsql_error", ErrorClass::kFatal},
    Condition{"XX", "internal_error", ErrorClass::kFatal},
};

const Condition* find_condition(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return nullptr;
  for (const Condition& c : kExact) {
    if (c.code == sqlstate) return &c;
  }
  for (const Condition& c : kClasses) {
    if (c.code == sqlstate.substr(0, 2)) return &c;
  }
  return nullptr;
}

}  // namespace

ErrorClass classify_sqlstate(std::string_view sqlstate, bool connection_ok) {
  if (!connection_ok || sqlstate.size() != 5) return ErrorClass::kTransient;
  const Condition* condition = find_condition(sqlstate);
  return condition ? condition->error_class : ErrorClass::kFatal;
}

ErrorClass classify_connection_failure(std::string_view message, bool needs_password) {
  if (needs_password) return ErrorClass::kFatal;
  // Failures only configuration or the DBA can fix: bad credentials
  // (28P01/28000, "no pg_hba.conf entry", "role ... is not permitted to log
  // in"), an unknown role or database (3D000), a password that is required
  // but missing. Everything else (refused, server starting up or shutting
  // down, too many clients, network errors) is retried.
  constexpr std::array<std::string_view, 6> kFatalFragments = {
      "authentication failed", "password", "does not exist", "pg_hba.conf", "is not permitted to log in",
      "invalid connection option"};
  for (std::string_view fragment : kFatalFragments) {
    if (message.find(fragment) != std::string_view::npos) return ErrorClass::kFatal;
  }
  return ErrorClass::kTransient;
}

bool means_table_changed(std::string_view sqlstate) {
  return sqlstate == "42703" || sqlstate == "42P01" || sqlstate == "42804";
}

std::string_view sqlstate_name(std::string_view sqlstate) {
  const Condition* condition = find_condition(sqlstate);
  return condition ? condition->name : std::string_view("unknown");
}

std::string sqlstate_reason(std::string_view sqlstate) {
  std::string reason(sqlstate);
  reason += ' ';
  reason += sqlstate_name(sqlstate);
  return reason;
}

}  // namespace sluice::pg
