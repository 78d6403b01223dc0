// SchemaCache: the interpreted schemas of recently seen records, keyed by the
// exact bytes of their Kafka Connect "schema" JSON. Debezium repeats the same
// schema in every record of a table, so a hit skips parsing it: only the
// payload is parsed. Small and linear (a topic-partition rarely interleaves
// more than a few schemas); entries are replaced round-robin.
// Not thread-safe: one cache per decoder. Returned schemas are immutable and
// may outlive the cache.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "decode/connect_schema.h"
#include "sluice/change_event.h"

namespace sluice {

// A record's schema prepared for decoding its payloads.
struct RecordSchema {
  enum class Shape {
    kEnvelope,  // Debezium envelope: before/after/source/op/ts_ms
    kRow,       // a struct row: a flattened value or a struct key
    kScalar,    // a primitive (keys): one column named "key"
  };
  // The columns of a struct and, for each column, its field index in the struct.
  struct RowLayout {
    std::shared_ptr<const RowSchema> schema;
    std::vector<int> fields;
    int struct_field = -1;  // envelope: index of before/after in root.fields
  };

  ConnectSchema root;
  Shape shape = Shape::kRow;
  RowLayout before;  // envelope
  RowLayout after;   // envelope
  RowLayout row;     // kRow and kScalar
};

// Interprets a parsed Connect schema. Fields of a kRow starting with
// `metadata_prefix` (ExtractNewRecordState's "__op", ...) are left out of the row.
std::shared_ptr<const RecordSchema> make_record_schema(ConnectSchema root, std::string_view metadata_prefix);

class SchemaCache {
 public:
  explicit SchemaCache(size_t capacity = 16) : capacity_(capacity) {}

  // The schema cached for exactly these bytes, or nullptr.
  std::shared_ptr<const RecordSchema> find(std::string_view bytes, size_t hash) const;
  // The schema whose bytes are a prefix of `text` (so the schema value of a
  // record is recognised without scanning or hashing it), or nullptr.
  // `length` receives the length of the matching bytes.
  std::shared_ptr<const RecordSchema> find_prefix(std::string_view text, size_t& length);
  void insert(std::string_view bytes, size_t hash, std::shared_ptr<const RecordSchema> schema);

 private:
  struct Entry {
    size_t hash = 0;
    std::string bytes;
    std::shared_ptr<const RecordSchema> schema;
  };
  size_t capacity_;
  size_t next_ = 0;
  size_t last_hit_ = 0;  // tried first: records of one table come in runs
  std::vector<Entry> entries_;
};

}  // namespace sluice
