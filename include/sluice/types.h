// Strong types for identifiers that travel between modules, so a partition is
// never passed where an offset is expected. Plain value types.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sluice {

struct Partition {
  int32_t value = 0;
  auto operator<=>(const Partition&) const = default;
};

// A Kafka offset. For committed positions this is the offset of the next
// record to read, as in Kafka's own commit semantics.
struct Offset {
  int64_t value = 0;
  auto operator<=>(const Offset&) const = default;
};

// A PostgreSQL table, unquoted; the sink quotes each part when it writes SQL.
struct TableName {
  std::string schema;  // empty: the connection's search_path decides
  std::string name;
  auto operator<=>(const TableName&) const = default;
  std::string display() const { return schema.empty() ? name : schema + "." + name; }
};

struct TopicPartition {
  std::string topic;
  Partition partition;
  auto operator<=>(const TopicPartition&) const = default;
};

// A TopicPartition that borrows its topic: maps keyed by TopicPartition with
// std::less<> find a record's partition by it without copying the topic.
struct TopicPartitionRef {
  TopicPartitionRef(std::string_view of_topic, Partition of_partition) : topic(of_topic), partition(of_partition) {}
  TopicPartitionRef(const TopicPartition& tp) : topic(tp.topic), partition(tp.partition) {}  // NOLINT: a view of it
  std::string_view topic;
  Partition partition;
};

inline std::strong_ordering operator<=>(const TopicPartition& a, const TopicPartitionRef& b) {
  if (auto by_topic = std::string_view(a.topic) <=> b.topic; by_topic != 0) return by_topic;
  return a.partition <=> b.partition;
}

}  // namespace sluice

template <>
struct std::hash<sluice::TopicPartition> {
  size_t operator()(const sluice::TopicPartition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31 + static_cast<size_t>(tp.partition.value);
  }
};

template <>
struct std::hash<sluice::TableName> {
  size_t operator()(const sluice::TableName& t) const noexcept {
    return std::hash<std::string>{}(t.schema) * 31 + std::hash<std::string>{}(t.name);
  }
};
