#include "sinks/postgres/stale_guard.h"

#include <libpq-fe.h>

#include <cstring>
#include <mutex>
#include <string_view>

#include "core/logging.h"
#include "sluice/identifier.h"

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

// `base` + `suffix` as PostgreSQL keeps it: `base` shortened at a character
// boundary so that the suffix survives (a name cut to `base` alone could be
// the table's own, and CREATE ... IF NOT EXISTS would skip quietly).
std::string index_name(std::string_view base, std::string_view suffix) {
  size_t keep = std::min(base.size(), kMaxIdentifierBytes - suffix.size());
  while (keep > 0 && keep < base.size() && (static_cast<unsigned char>(base[keep]) & 0xC0) == 0x80) --keep;
  return std::string(base.substr(0, keep)) + std::string(suffix);
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
  // compares row keys byte-wise and reaches the table name only on a match.
  // With the name first, every comparison of the descent went through the
  // collation and read the row key at a variable offset: the probe took half
  // again as long.
  if (Status s = create_if_missing(connection, deletes_table(),
                                   "CREATE TABLE IF NOT EXISTS " + deletes_table() +
                                       " (table_name text NOT NULL, row_key bytea NOT NULL, position bytea NOT NULL, "
                                       "deleted_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (row_key, table_name))");
      !s) {
    return s;
  }
  // Whether a table has entries at all is asked once per batch, which wants
  // an index led by the table name: the primary key of a deletes table made
  // before the row key led it, an index of its own otherwise.
  auto indexed = connection.exec(
      "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
      "WHERE i.indrelid = " + connection.quote_literal(deletes_table()) + "::regclass AND a.attname = 'table_name')");
  if (!indexed) return indexed.take_error();
  if (std::string_view(PQgetvalue(indexed->get(), 0, 0)) == "t") return {};
  const std::string index = quote_identifier(index_name(deletes_table_, "_by_table"));
  Status created = create_if_missing(connection, index, "CREATE INDEX IF NOT EXISTS " + index + " ON " + deletes_table() +
                                                            " (table_name)");
  if (!created && created.error().reason == "42501") {
    // Only the table's owner may index it. Without the index the check
    // reads the table until it finds an entry: correct, slower.
    static std::once_flag warned;
    std::call_once(warned, [&] {
      logging::get("postgres")->warn("{} has no index of its table names and this role may not create one; its owner "
                                     "can: CREATE INDEX {} ON {} (table_name)",
                                     deletes_table_, index, deletes_table());
    });
    return {};
  }
  return created;
}

std::string StaleGuard::newer_sql(const std::string& a, const std::string& b) {
  std::string prefix = std::to_string(kPositionPrefixBytes);
  return "(substring(" + a + " from 1 for " + prefix + ") = substring(" + b + " from 1 for " + prefix + ") AND " + a +
         " > " + b + ")";
}

}  // namespace sluice::pg
