#include "sinks/postgres/connection.h"

#include <algorithm>

#include <vector>

#include "sinks/postgres/sqlstate.h"

namespace sluice::pg {

std::string libpq_conninfo_from_url(const std::string& url) {
  constexpr std::string_view kJdbc = "jdbc:postgresql:";
  if (url.rfind(kJdbc, 0) == 0) return "postgresql:" + url.substr(kJdbc.size());
  return url;
}

std::string Connection::quote_literal(std::string_view value) const {
  std::unique_ptr<char, decltype(&PQfreemem)> escaped(PQescapeLiteral(conn_.get(), value.data(), value.size()),
                                                      &PQfreemem);
  if (escaped) return escaped.get();
  // Only out of memory or invalid encoding: fall back to standard quoting,
  // which is exact with standard_conforming_strings (on since PostgreSQL 9.1).
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

Status create_if_missing(Connection& connection, const std::string& relation, const std::string& sql) {
  auto found = connection.exec("SELECT to_regclass(" + connection.quote_literal(relation) + ") IS NOT NULL");
  if (!found) return found.take_error();
  if (std::string_view(PQgetvalue(found->get(), 0, 0)) == "t") return {};
  auto created = connection.exec(sql);
  if (!created && (created.error().reason == "23505" || created.error().reason == "42P07")) {
    created = connection.exec(sql);
  }
  if (!created) return created.take_error();
  return {};
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

Result<std::unique_ptr<Connection>> Connection::open(const ConnectionConfig& config) {
  std::string conninfo = libpq_conninfo_from_url(config.url);
  std::vector<const char*> keys = {"dbname", "application_name", "fallback_application_name"};
  std::vector<const char*> values = {conninfo.c_str(), nullptr, "sluice"};
  values[1] = "sluice";
  if (!config.username.empty()) {
    keys.push_back("user");
    values.push_back(config.username.c_str());
  }
  if (!config.password.empty()) {
    keys.push_back("password");
    values.push_back(config.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  // expand_dbname = 1: the first dbname value may be a full URI or conninfo.
  PGconn* raw = PQconnectdbParams(keys.data(), values.data(), 1);
  if (raw == nullptr) return Error::transient("connection_failed", "cannot allocate a PostgreSQL connection");
  std::unique_ptr<Connection> connection(new Connection(raw));
  // Notices ("relation already exists, skipping") are expected and not logged.
  PQsetNoticeProcessor(raw, [](void*, const char*) {}, nullptr);
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string message = PQerrorMessage(raw);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    std::string text = "cannot connect to PostgreSQL: " + message;
    bool fatal = classify_connection_failure(message, PQconnectionNeedsPassword(raw) != 0) == ErrorClass::kFatal;
    return fatal ? Error::fatal("connection_refused", text) : Error::transient("connection_failed", text);
  }
  return connection;
}

Result<PgResultPtr> Connection::check(PGresult* raw_result, const std::string& sql) {
  PgResultPtr result(raw_result);
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN ||
      status == PGRES_COPY_OUT || status == PGRES_EMPTY_QUERY) {
    return result;
  }
  const char* sqlstate = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
  std::string message = result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn_.get());
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  std::string statement = sql.size() > 120 ? sql.substr(0, 120) + "..." : sql;
  bool connection_ok = PQstatus(conn_.get()) == CONNECTION_OK;
  if (sqlstate == nullptr || !connection_ok) {
    return Error::transient("connection_lost", "PostgreSQL connection lost: " + message);
  }
  // The reason is the bare SQLSTATE; callers name it with sqlstate_reason().
  return Error{classify_sqlstate(sqlstate, connection_ok), sqlstate,
               sqlstate_reason(sqlstate) + ": " + message + " (in: " + statement + ")"};
}

Status Connection::copy_in(const std::string& sql, std::string_view data) {
  if (Status s = copy_begin(sql); !s) return s;
  copy_data(data);
  return copy_end();
}

Status Connection::copy_begin(const std::string& sql) {
  auto started = check(PQexec(conn_.get(), sql.c_str()), sql);
  if (!started) return started.take_error();
  if (PQresultStatus(started->get()) != PGRES_COPY_IN) {
    return Error::fatal("copy_not_started", "COPY did not start (in: " + sql + ")");
  }
  copy_sql_ = sql;
  copy_sent_ = true;
  return {};
}

void Connection::copy_data(std::string_view data) {
  constexpr size_t kChunk = 1 << 20;
  for (size_t at = 0; at < data.size() && copy_sent_; at += kChunk) {
    size_t n = std::min(kChunk, data.size() - at);
    copy_sent_ = PQputCopyData(conn_.get(), data.data() + at, static_cast<int>(n)) == 1;
  }
}

Status Connection::copy_end() {
  bool sent = copy_sent_;
  if (PQputCopyEnd(conn_.get(), sent ? nullptr : "sluice: sending COPY data failed") != 1) sent = false;
  // Drain every result so the connection is ready for the next statement.
  Status status;
  bool have_error = false;
  while (PGresult* raw_result = PQgetResult(conn_.get())) {
    auto checked = check(raw_result, copy_sql_);
    if (!checked && !have_error) {
      status = checked.take_error();
      have_error = true;
    }
    if (PQstatus(conn_.get()) != CONNECTION_OK) break;
  }
  if (!have_error && !sent) {
    return Error::transient("connection_lost", "PostgreSQL connection lost during COPY: " +
                                                   std::string(PQerrorMessage(conn_.get())));
  }
  return status;
}

Result<PgResultPtr> Connection::exec(const std::string& sql) { return check(PQexec(conn_.get(), sql.c_str()), sql); }

Result<PgResultPtr> Connection::exec_params(const std::string& sql, const std::vector<const char*>& params) {
  return check(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(),
                            nullptr, nullptr, 0),
               sql);
}

}  // namespace sluice::pg
