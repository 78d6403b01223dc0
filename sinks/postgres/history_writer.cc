#include "sinks/postgres/history_writer.h"

#include <algorithm>

#include "sinks/postgres/history_plan.h"
#include "sinks/postgres/stale_guard.h"

namespace sluice::pg {
namespace {

std::string joined(const std::vector<std::string>& names, const std::string& prefix) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += prefix + quote_identifier(name);
  }
  return out;
}

std::string hex_of(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

bool same_columns(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

}  // namespace

Status HistoryWriter::exec(const std::string& sql) {
  auto result = connection_.exec(sql);
  if (!result) return result.take_error();
  return {};
}

Status HistoryWriter::check_table(const TablePlan& plan, const StagedWrite& write) const {
  for (const WriteColumn& planned : plan.columns) {
    if (planned.kind == WriteColumn::Kind::kValue) continue;
    bool found = std::any_of(write.written.begin(), write.written.end(),
                             [&](const WriteColumn& c) { return c.name == planned.name; });
    if (!found) {
      return Error::fatal("history_column_missing",
                          "table " + write.table.display() + " has no column " + planned.name +
                              ", which sluice writes into history and changelog tables and schema.evolution = none "
                              "does not add: ALTER TABLE " + write.target + " ADD COLUMN " +
                              quote_identifier(planned.name) + " " + pg_type_for(planned.source));
    }
  }
  if (!same_columns(write.table_primary_key, plan.primary_key)) {
    std::string wanted;
    for (const std::string& name : plan.primary_key) wanted += (wanted.empty() ? "" : ", ") + name;
    return Error::fatal("history_key_mismatch", "table " + write.table.display() + " needs the primary key (" +
                                                    wanted + ") to keep one row per version or Kafka record");
  }
  return {};
}

Status HistoryWriter::write_versions(const TablePlan& plan, const StagedWrite& write) {
  if (Status s = check_table(plan, write); !s) return s;
  if (Status s = exec("INSERT INTO " + write.target + " (" + write.column_list + ") SELECT " + write.column_list +
                      " FROM " + write.staging + " ON CONFLICT (" + joined(plan.primary_key, "") + ") DO NOTHING");
      !s) {
    return s;
  }
  std::vector<std::string> keys(plan.primary_key.begin(), plan.primary_key.end() - 1);
  return recompute_validity(write.target, keys, write.staging);
}

Status HistoryWriter::write_changelog(const TablePlan& plan, const StagedWrite& write) {
  if (Status s = check_table(plan, write); !s) return s;
  return exec("INSERT INTO " + write.target + " (" + write.column_list + ") SELECT " + write.column_list + " FROM " +
              write.staging + " ON CONFLICT (" + joined(plan.primary_key, "") + ") DO NOTHING");
}

Status HistoryWriter::recompute_validity(const std::string& target, const std::vector<std::string>& keys,
                                         const std::string& keys_from) {
  const std::string position = quote_identifier(position_column_);
  const std::string prefix = "substring(h." + position + " from 1 for " + std::to_string(kPositionPrefixBytes) + ")";
  const std::string key_list = joined(keys, "");
  std::string match;
  for (const std::string& key : keys) {
    match += "t." + quote_identifier(key) + " = v." + quote_identifier(key) + " AND ";
  }
  // Inner: every version of the staged keys, with the position to order by
  // when the key's positions are all of one kind and domain (else NULL, and
  // time and Kafka coordinates order them). Outer: validity from the next
  // version in that order.
  std::string versions =
      "SELECT " + joined(keys, "h.") + ", h." + position + " AS sluice_position, h." +
      quote_identifier(kValidFromColumn) + " AS sluice_from, coalesce(h." + quote_identifier(kDeletedColumn) +
      ", false) AS sluice_deleted, h." + quote_identifier(kKafkaTopicColumn) + " AS sluice_topic, h." +
      quote_identifier(kKafkaPartitionColumn) + " AS sluice_partition, h." + quote_identifier(kKafkaOffsetColumn) +
      " AS sluice_offset, CASE WHEN min(encode(" + prefix + ", 'hex')) OVER k = max(encode(" + prefix +
      ", 'hex')) OVER k THEN h." + position + " END AS sluice_order FROM " + target + " AS h WHERE (" +
      joined(keys, "h.") + ") IN (SELECT " + joined(keys, "s.") + " FROM " + keys_from + " AS s) WINDOW k AS (PARTITION BY " +
      joined(keys, "h.") + ")";
  std::string validity =
      "SELECT " + key_list + ", sluice_position, CASE WHEN sluice_deleted THEN sluice_from "
      "WHEN lead(sluice_from) OVER w IS NULL THEN NULL ELSE greatest(sluice_from, lead(sluice_from) OVER w) END "
      "AS sluice_to, NOT sluice_deleted AND NOT lead(true, 1, false) OVER w AS sluice_current FROM (" + versions +
      ") AS x WINDOW w AS (PARTITION BY " + key_list +
      " ORDER BY sluice_order, sluice_from, sluice_topic, sluice_partition, sluice_offset)";
  const std::string valid_to = quote_identifier(kValidToColumn);
  const std::string is_current = quote_identifier(kIsCurrentColumn);
  return exec("UPDATE " + target + " AS t SET " + valid_to + " = v.sluice_to, " + is_current +
              " = v.sluice_current FROM (" + validity + ") AS v WHERE " + match + "t." + position +
              " = v.sluice_position AND (t." + valid_to + " IS DISTINCT FROM v.sluice_to OR t." + is_current +
              " IS DISTINCT FROM v.sluice_current)");
}

Status HistoryWriter::truncate(const TableName& table, const TableSchema& schema, const ChangeEvent& event,
                               const std::string& scratch) {
  if (schema.find(kIsCurrentColumn) == nullptr || schema.find(position_column_) == nullptr) {
    return Error::fatal("history_column_missing", "history table " + table.display() + " has no column " +
                                                      std::string(kIsCurrentColumn) + " or " + position_column_);
  }
  const std::string target = quoted_table(table);
  const std::string position = quote_identifier(position_column_);
  const std::string truncated_at = connection_.quote_literal("\\x" + hex_of(version_position(event))) + "::bytea";
  std::vector<std::string> keys;
  for (const std::string& name : schema.primary_key) {
    if (name != position_column_) keys.push_back(name);
  }
  // Current versions the truncate comes after (or cannot be ordered against).
  const std::string closed = " WHERE h." + quote_identifier(kIsCurrentColumn) + " AND NOT coalesce(" +
                             StaleGuard::newer_sql("h." + position, truncated_at) + ", false)";
  const std::string scratch_table = quote_identifier(scratch);
  if (Status s = exec("CREATE TEMP TABLE " + scratch_table + " ON COMMIT DROP AS SELECT " + joined(keys, "h.") +
                      " FROM " + target + " AS h" + closed);
      !s) {
    return s;
  }
  const std::string at = connection_.quote_literal(timestamp_text(event_time_ms(event))) + "::timestamptz";
  std::string columns, values;
  for (const TableColumn& column : schema.columns) {
    std::string value = "h." + quote_identifier(column.name);
    if (column.name == kValidFromColumn) value = at;
    if (column.name == kValidToColumn) value = "NULL";
    if (column.name == kIsCurrentColumn) value = "false";
    if (column.name == kDeletedColumn) value = "true";
    if (column.name == kEventOpColumn) value = "'t'";
    if (column.name == position_column_) value = truncated_at;
    if (column.name == kKafkaTopicColumn) value = connection_.quote_literal(event.origin.topic);
    if (column.name == kKafkaPartitionColumn) value = std::to_string(event.origin.partition.value);
    if (column.name == kKafkaOffsetColumn) value = std::to_string(event.origin.offset.value);
    columns += (columns.empty() ? "" : ", ") + quote_identifier(column.name);
    values += (values.empty() ? "" : ", ") + value;
  }
  if (Status s = exec("INSERT INTO " + target + " (" + columns + ") SELECT " + values + " FROM " + target + " AS h" +
                      closed + " ON CONFLICT DO NOTHING");
      !s) {
    return s;
  }
  if (Status s = recompute_validity(target, keys, scratch_table); !s) return s;
  return exec("DROP TABLE " + scratch_table);
}

}  // namespace sluice::pg
