// Connection: one libpq connection with RAII ownership, built from the
// `connection.*` configuration. Used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

#include "sluice/config.h"
#include "sluice/result.h"

namespace sluice::pg {

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// Turns `jdbc:postgresql://host:port/db?user=x` into a libpq URI; other values
// pass through unchanged.
std::string libpq_conninfo_from_url(const std::string& url);

class Connection {
 public:
  // Connects; the password never appears in error messages.
  static Result<std::unique_ptr<Connection>> open(const ConnectionConfig& config);

  // Runs `sql` (one or more statements without parameters). kTransient when the
  // connection is lost; otherwise the SQLSTATE decides (see sqlstate.h).
  Result<PgResultPtr> exec(const std::string& sql);
  // Runs one parameterised statement with text parameters.
  Result<PgResultPtr> exec_params(const std::string& sql, const std::vector<const char*>& params);

  // Runs `sql` (a COPY ... FROM STDIN) and streams `data` in COPY format.
  Status copy_in(const std::string& sql, std::string_view data);
  // The same in steps, so PostgreSQL reads rows while the caller writes more:
  // copy_begin(), any number of copy_data(), then always copy_end(), which
  // reports how the COPY ended (a row PostgreSQL refused, a lost connection).
  Status copy_begin(const std::string& sql);
  void copy_data(std::string_view data);
  Status copy_end();

  // `value` as an SQL string literal, escaped for this connection's settings.
  std::string quote_literal(std::string_view value) const;

  PGconn* raw() const { return conn_.get(); }
  bool healthy() const { return PQstatus(conn_.get()) == CONNECTION_OK; }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  Result<PgResultPtr> check(PGresult* result, const std::string& sql);

  std::unique_ptr<PGconn, PgConnDeleter> conn_;
  std::string copy_sql_;     // the COPY in progress, for messages
  bool copy_sent_ = true;    // every copy_data() reached the connection
};

// Runs `sql`, a `CREATE ... IF NOT EXISTS` of relation `relation` (quoted as
// SQL names it), outside a transaction, unless the relation exists: the
// statement needs CREATE on the schema, or the table's ownership for an
// index, even when there is nothing to create, and a least-privileged role
// works with what its administrator created. Two sessions creating the same
// object at once can make one of them fail with 23505 or 42P07 although the
// object then exists; that one runs it again and finds it.
Status create_if_missing(Connection& connection, const std::string& relation, const std::string& sql);

// Double-quotes an identifier for SQL, doubling embedded quotes.
std::string quote_identifier(std::string_view name);

}  // namespace sluice::pg
