// StaleGuard: the stale-event guard of the PostgreSQL sink. Every keyed row
// carries the source position of the event that last wrote it (a bytea column,
// `stale.guard.column`), and every delete leaves its position in a table of its
// own (`stale.guard.table`, keyed by row key and target table), so that an
// event older than what a row -- or its deletion -- already holds is skipped:
// a replayed dead-letter record never overwrites newer data and never
// resurrects a deleted row, and neither do events that arrive out of order
// after a source failover.
//
// A position is 41 bytes: the kind (1 byte), a domain (8 bytes: for Kafka
// offsets the topic hash and partition, else zero) and four big-endian 64-bit
// parts, so bytewise comparison of two positions with equal kind and domain is
// the order of the source log. Positions of different kinds or domains are not
// comparable and never make an event stale. Stateless apart from its names;
// used by the sink's thread.
#pragma once

#include <string>
#include <string_view>

#include "sinks/postgres/connection.h"
#include "sluice/change_event.h"
#include "sluice/result.h"

namespace sluice::pg {

// Bytes of the kind and domain: positions are comparable iff these are equal.
inline constexpr size_t kPositionPrefixBytes = 9;
inline constexpr size_t kPositionBytes = kPositionPrefixBytes + 32;

// The event's position: its source position (PostgreSQL lsn; MySQL file, pos,
// row; SQL Server commit and change lsn; else the source ts_ms), or, when it
// has none (tombstones, records without a source block), its Kafka offset.
std::string encode_position(const ChangeEvent& event);

// True when `a` and `b` are comparable and `a` comes strictly before `b`.
bool position_before(std::string_view a, std::string_view b);

class StaleGuard {
 public:
  StaleGuard(std::string column, std::string deletes_table)
      : column_(std::move(column)), deletes_table_(std::move(deletes_table)) {}

  const std::string& column() const { return column_; }
  // The deletes table, quoted.
  std::string deletes_table() const { return quote_identifier(deletes_table_); }

  // Creates the deletes table, and the index of its table names, when
  // missing (idempotent; creates nothing when both exist). A role that may
  // not index a table another role owns gets a warning, not an error.
  Status ensure_table(Connection& connection) const;

  // SQL that is true when position expression `a` is comparable with and
  // strictly after `b` (NULL when either is NULL).
  static std::string newer_sql(const std::string& a, const std::string& b);

 private:
  std::string column_;
  std::string deletes_table_;
};

}  // namespace sluice::pg
