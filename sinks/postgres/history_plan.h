// History and changelog plans: what one batch writes to a history (SCD type 2)
// or changelog table. Unlike plan_table(), nothing is folded: every event of
// the batch becomes a row (a version of its key, or a changelog entry), so the
// whole sequence of changes reaches the table. Tombstones are left out (they
// follow the delete event Debezium writes first, which is recorded, and carry
// no source position or time), as are deletes with delete.enabled = false.
// Pure: no connection; safe to use from any one thread.
//
// A history row is keyed by the row key plus the version's source position
// (the stale-event guard's 41-byte encoding, see stale_guard.h), so the same
// event delivered twice is the same version; a delete becomes a deletion
// version (__deleted = true) holding its before image. A changelog row is keyed
// by the event's Kafka coordinates.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sinks/postgres/table_plan.h"
#include "sluice/batch.h"
#include "sluice/config.h"

namespace sluice::pg {

inline constexpr std::string_view kValidFromColumn = "__valid_from";
inline constexpr std::string_view kValidToColumn = "__valid_to";
inline constexpr std::string_view kIsCurrentColumn = "__is_current";
inline constexpr std::string_view kEventOpColumn = "__op";
inline constexpr std::string_view kSourceTimeColumn = "__source_ts";

// The position that identifies and orders a history version: the stale-event
// guard's position of the event, except that a position made of the source
// time alone (PositionKind::kTimestamp) also carries the event's Kafka
// partition and offset, so two changes of one key within the same millisecond
// stay two versions.
std::string version_position(const ChangeEvent& event);

// The event's time as history and changelog rows record it: the source commit
// time (source.ts_ms), else the envelope ts_ms, else the Kafka record
// timestamp, in milliseconds since the epoch.
int64_t event_time_ms(const ChangeEvent& event);

// `ms` since the epoch as PostgreSQL timestamptz input in UTC:
// "2024-02-29 13:45:00.123+00".
std::string timestamp_text(int64_t ms);

// Plans the versions `entries` (indexes into batch.entries, all for one
// table, none a truncate or message) add to a history table. Needs a keyed
// primary.key.mode (record_key or record_value); under the others every event
// is skipped. Primary key: the key columns, then config.stale_guard_column.
// An event with the key and position of one planned before (the same change
// delivered twice in one batch) adds no row and counts as applied.
TablePlan plan_history(const SinkConfig& config, const Batch& batch, std::span<const size_t> entries);

// Plans the rows `entries` (truncates included, no messages) append to a
// changelog table. Primary key: __connect_topic, __connect_partition,
// __connect_offset; then the key columns, the row image (after, or before for
// deletes) and __op, the position and __source_ts.
TablePlan plan_changelog(const SinkConfig& config, const Batch& batch, std::span<const size_t> entries);

}  // namespace sluice::pg
