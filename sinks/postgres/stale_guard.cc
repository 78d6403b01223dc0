#include "sinks/postgres/stale_guard.h"

#include <libpq-fe.h>

#include <cstring>
#include <string_view>

namespace sluice::pg {
namespace {

void put_u64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

// FNV-1a: stable across processes and builds, unlike std::hash.
uint32_t topic_hash(std::string_view topic) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : topic) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace

std::string encode_position(const ChangeEvent& event) {
  SourcePosition position = event.source.position;
  uint64_t domain = 0;
  if (position.kind == PositionKind::kNone || position.kind == PositionKind::kKafkaOffset) {
    position.kind = PositionKind::kKafkaOffset;
    position.parts = {static_cast<uint64_t>(event.origin.offset.value), 0, 0, 0};
    domain = (static_cast<uint64_t>(topic_hash(event.origin.topic)) << 32) |
             static_cast<uint32_t>(event.origin.partition.value);
  }
  std::string out;
  out.reserve(kPositionBytes);
  out.push_back(static_cast<char>(position.kind));
  put_u64(out, domain);
  for (uint64_t part : position.parts) put_u64(out, part);
  return out;
}

bool position_before(std::string_view a, std::string_view b) {
  if (a.size() != kPositionBytes || b.size() != kPositionBytes) return false;
  if (a.substr(0, kPositionPrefixBytes) != b.substr(0, kPositionPrefixBytes)) return false;
  return std::memcmp(a.data(), b.data(), kPositionBytes) < 0;
}

Status StaleGuard::ensure_table(Connection& connection) const {
  // The row key leads the primary key: the probe of every staged row then
  // compares row keys byte-wise and reaches the table name only on a match
  // (with the name first, every comparison of the descent went through the
  // collation and a second, variable-offset column: a third slower).
  if (Status s = create_if_missing(connection, "CREATE TABLE IF NOT EXISTS " + deletes_table() +
                                                   " (table_name text NOT NULL, row_key bytea NOT NULL, position bytea "
                                                   "NOT NULL, deleted_at timestamptz NOT NULL DEFAULT now(), "
                                                   "PRIMARY KEY (row_key, table_name))");
      !s) {
    return s;
  }
  // Whether a table has entries at all is asked once per batch; with the
  // row key first that needs an index of its own. A deletes table created
  // with the table name first (before this order) answers from its primary
  // key and gets none.
  auto leading = connection.exec(
      "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
      "WHERE i.indrelid = " + connection.quote_literal(deletes_table()) + "::regclass AND i.indisprimary");
  if (!leading) return leading.take_error();
  if (PQntuples(leading->get()) == 1 && std::string_view(PQgetvalue(leading->get(), 0, 0)) == "table_name") return {};
  return create_if_missing(connection, "CREATE INDEX IF NOT EXISTS " + quote_identifier(deletes_table_ + "_by_table") +
                                           " ON " + deletes_table() + " (table_name)");
}

std::string StaleGuard::newer_sql(const std::string& a, const std::string& b) {
  std::string prefix = std::to_string(kPositionPrefixBytes);
  return "(substring(" + a + " from 1 for " + prefix + ") = substring(" + b + " from 1 for " + prefix + ") AND " + a +
         " > " + b + ")";
}

}  // namespace sluice::pg
