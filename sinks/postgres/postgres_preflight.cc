#include "sinks/postgres/postgres_preflight.h"

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <utility>

#include "sinks/postgres/connection.h"

namespace sluice::pg {
namespace {

struct ConninfoOptionsDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};

// Keys and values for PQconnectdbParams / PQpingParams, as Connection::open
// builds them, plus a connect timeout.
class ConnectParams {
 public:
  ConnectParams(const ConnectionConfig& connection, std::chrono::seconds timeout)
      : conninfo_(libpq_conninfo_from_url(connection.url)), timeout_(std::to_string(timeout.count())) {
    add("dbname", conninfo_.c_str());
    add("fallback_application_name", "sluice check-config");
    if (!connection.username.empty()) add("user", connection.username.c_str());
    if (!connection.password.empty()) add("password", connection.password.c_str());
    // connect_timeout in the URL still wins: expand_dbname applies it later.
    keys_.insert(keys_.begin(), "connect_timeout");
    values_.insert(values_.begin(), timeout_.c_str());
    keys_.push_back(nullptr);
    values_.push_back(nullptr);
  }
  const char* const* keys() const { return keys_.data(); }
  const char* const* values() const { return values_.data(); }

 private:
  void add(const char* key, const char* value) {
    keys_.push_back(key);
    values_.push_back(value);
  }
  std::string conninfo_;
  std::string timeout_;
  std::vector<const char*> keys_;
  std::vector<const char*> values_;
};

std::string one_line(std::string message) {
  std::string out;
  for (char c : message) {
    if (c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The single text value of a query, or the error message.
struct Answer {
  std::optional<std::string> value;
  std::string error;
};

Answer ask(PGconn* conn, const std::string& sql, const std::vector<const char*>& params = {}) {
  std::unique_ptr<PGresult, PgResultDeleter> result(PQexecParams(
      conn, sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(), nullptr, nullptr, 0));
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) return {std::nullopt, one_line(PQresultErrorMessage(result.get()))};
  if (PQntuples(result.get()) < 1 || PQgetisnull(result.get(), 0, 0)) return {std::nullopt, ""};
  return {std::string(PQgetvalue(result.get(), 0, 0)), ""};
}

// The schema part of table.name.format when it is a literal ("replica.${source.table}").
std::optional<std::string> literal_schema(const std::string& format) {
  size_t dot = format.find('.');
  if (dot == std::string::npos) return std::nullopt;
  std::string schema = format.substr(0, dot);
  if (schema.find("${") != std::string::npos) return std::nullopt;
  return schema;
}

// Whether the role may create the tables of `format` (configuration key `key`).
void check_create_privilege(PGconn* conn, const std::string& format, const std::string& key,
                            std::vector<std::string>& problems) {
  auto literal = literal_schema(format);
  std::string schema = literal ? *literal : ask(conn, "SELECT current_schema()").value.value_or("");
  if (schema.empty()) {
    problems.push_back("connection.url: no schema to create tables in (the search_path names no existing schema); "
                       "schema.evolution = basic needs one");
    return;
  }
  Answer exists = ask(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", {schema.c_str()});
  if (exists.value == "1") {
    Answer may = ask(conn, "SELECT has_schema_privilege(current_user, $1, 'CREATE')", {schema.c_str()});
    if (may.value != "t") {
      problems.push_back("schema.evolution: role " + ask(conn, "SELECT current_user").value.value_or("?") +
                         " may not CREATE in schema " + schema + " (GRANT CREATE ON SCHEMA " + schema +
                         ", or set schema.evolution = none and create the tables yourself)" +
                         (may.error.empty() ? "" : ": " + may.error));
    }
    return;
  }
  Answer may = ask(conn, "SELECT has_database_privilege(current_user, current_database(), 'CREATE')");
  if (may.value != "t") {
    problems.push_back(key + ": schema " + schema + " does not exist and role " +
                       ask(conn, "SELECT current_user").value.value_or("?") +
                       " may not create it (GRANT CREATE ON DATABASE, or create the schema)");
  }
}

void check_offsets_table(PGconn* conn, const Config& config, std::vector<std::string>& problems) {
  std::string quoted = quote_identifier(config.sink.offsets_table);
  Answer oid = ask(conn, "SELECT to_regclass($1)::oid::text", {quoted.c_str()});
  if (oid.value) {
    Answer may = ask(conn,
                     "SELECT has_table_privilege(current_user, $1::oid, 'SELECT') AND "
                     "has_table_privilege(current_user, $1::oid, 'INSERT') AND "
                     "has_table_privilege(current_user, $1::oid, 'UPDATE')",
                     {oid.value->c_str()});
    if (may.value != "t") {
      problems.push_back("offsets.table: table " + config.sink.offsets_table +
                         " exists but the role may not SELECT, INSERT and UPDATE it");
    }
    return;
  }
  if (!oid.error.empty()) {
    problems.push_back("offsets.table: cannot look up " + config.sink.offsets_table + ": " + oid.error);
    return;
  }
  Answer may = ask(conn, "SELECT has_schema_privilege(current_user, current_schema(), 'CREATE')");
  if (may.value != "t") {
    problems.push_back("offsets.table: table " + config.sink.offsets_table +
                       " does not exist and the role may not create it in schema " +
                       ask(conn, "SELECT current_schema()").value.value_or("(none)"));
  }
}

}  // namespace

std::string describe_target(const ConnectionConfig& connection) {
  std::string conninfo = libpq_conninfo_from_url(connection.url);
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoOptionsDeleter> options(PQconninfoParse(conninfo.c_str(), &error));
  if (error != nullptr) PQfreemem(error);
  std::string host = "localhost", port = "5432", database;
  if (options) {
    for (PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
      if (option->val == nullptr || *option->val == '\0') continue;
      std::string_view keyword = option->keyword;
      if (keyword == "host") host = option->val;
      if (keyword == "hostaddr" && host == "localhost") host = option->val;
      if (keyword == "port") port = option->val;
      if (keyword == "dbname") database = option->val;
    }
  }
  return host + ":" + port + (database.empty() ? "" : "/" + database);
}

bool postgres_reachable(const ConnectionConfig& connection, std::chrono::seconds connect_timeout) {
  ConnectParams params(connection, connect_timeout);
  return PQpingParams(params.keys(), params.values(), 1) == PQPING_OK;
}

std::vector<std::string> preflight_postgres(const Config& config, std::chrono::seconds connect_timeout) {
  std::vector<std::string> problems;
  ConnectParams params(config.connection, connect_timeout);
  std::unique_ptr<PGconn, PgConnDeleter> conn(PQconnectdbParams(params.keys(), params.values(), 1));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    std::string message = conn ? one_line(PQerrorMessage(conn.get())) : "out of memory";
    bool credentials = message.find("authentication") != std::string::npos ||
                       message.find("password") != std::string::npos;
    problems.push_back(std::string(credentials ? "connection.password" : "connection.url") +
                       ": cannot connect to PostgreSQL at " + describe_target(config.connection) + ": " + message);
    return problems;
  }
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  if (config.sink.schema_evolution == SchemaEvolution::kBasic) {
    check_create_privilege(conn.get(), config.sink.table_name_format, "table.name.format", problems);
    // History and changelog tables in a schema of their own ("audit.${source.table}").
    for (const auto& [format, key] :
         {std::pair{&config.sink.history_table_name_format, "history.table.name.format"},
          std::pair{&config.sink.changelog_table_name_format, "changelog.table.name.format"}}) {
      auto schema = literal_schema(*format);
      if (format->empty() || !schema || *schema == literal_schema(config.sink.table_name_format)) continue;
      check_create_privilege(conn.get(), *format, key, problems);
    }
  }
  check_offsets_table(conn.get(), config, problems);
  return problems;
}

}  // namespace sluice::pg
