#include "sinks/postgres/offsets_store.h"

#include <charconv>
#include <set>

namespace sluice::pg {

Status OffsetsStore::ensure_table(Connection& connection) {
  return create_if_missing(connection, quote_identifier(table_), "CREATE TABLE IF NOT EXISTS " + quote_identifier(table_) +
                                 " (consumer_group text NOT NULL, topic text NOT NULL, partition integer NOT NULL, "
                                 "next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), "
                                 "PRIMARY KEY (consumer_group, topic, partition))");
}

Status OffsetsStore::store(Connection& connection, const std::vector<PartitionOffset>& offsets) {
  if (offsets.empty()) return {};
  std::string sql = "INSERT INTO " + quote_identifier(table_) +
                    " AS o (consumer_group, topic, partition, next_offset, updated_at) VALUES ";
  std::vector<std::string> values;
  values.reserve(offsets.size() * 3 + 1);
  values.push_back(consumer_group_);
  for (size_t i = 0; i < offsets.size(); ++i) {
    size_t p = 2 + i * 3;
    if (i > 0) sql += ", ";
    sql += "($1, $" + std::to_string(p) + ", $" + std::to_string(p + 1) + "::integer, $" + std::to_string(p + 2) +
           "::bigint, now())";
    values.push_back(offsets[i].partition.topic);
    values.push_back(std::to_string(offsets[i].partition.partition.value));
    values.push_back(std::to_string(offsets[i].next.value));
  }
  // Never backwards: a member that lost its partitions in a rebalance may still
  // commit a batch older than what the new owner already stored.
  sql += " ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET "
         "next_offset = GREATEST(o.next_offset, EXCLUDED.next_offset), updated_at = EXCLUDED.updated_at";
  std::vector<const char*> params;
  params.reserve(values.size());
  for (const std::string& v : values) params.push_back(v.c_str());
  auto stored = connection.exec_params(sql, params);
  if (!stored) return stored.take_error();
  return {};
}

Result<std::map<TopicPartition, Offset>> OffsetsStore::load(Connection& connection, const std::string& group,
                                                            const std::vector<TopicPartition>& partitions) {
  std::map<TopicPartition, Offset> out;
  auto exists = connection.exec_params("SELECT to_regclass($1) IS NOT NULL", {quote_identifier(table_).c_str()});
  if (!exists) return exists.take_error();
  if (std::string_view(PQgetvalue(exists->get(), 0, 0)) != "t") return out;
  auto rows = connection.exec_params(
      "SELECT topic, partition, next_offset FROM " + quote_identifier(table_) + " WHERE consumer_group = $1",
      {group.c_str()});
  if (!rows) return rows.take_error();
  std::set<TopicPartition> wanted(partitions.begin(), partitions.end());
  for (int r = 0; r < PQntuples(rows->get()); ++r) {
    TopicPartition tp{PQgetvalue(rows->get(), r, 0), Partition{}};
    std::string_view partition = PQgetvalue(rows->get(), r, 1);
    std::string_view next = PQgetvalue(rows->get(), r, 2);
    Offset offset;
    std::from_chars(partition.data(), partition.data() + partition.size(), tp.partition.value);
    std::from_chars(next.data(), next.data() + next.size(), offset.value);
    if (wanted.contains(tp)) out[tp] = offset;
  }
  return out;
}

}  // namespace sluice::pg
