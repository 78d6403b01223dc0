// DebeziumDecoder: turns one Kafka record written by a Debezium connector into
// a ChangeEvent. It understands the Kafka Connect JsonConverter with and
// without schemas (values and keys; plain JSON keys too), the Debezium
// envelope (ops c r u d t m), ExtractNewRecordState's flattened rows with
// their metadata fields, and tombstones; logical types are converted to the
// canonical text forms of sluice/change_event.h.
//
// Bad content is an expected outcome: decode() returns Error::record with a
// short reason (malformed_json, invalid_utf8, nesting_too_deep,
// record_too_large, missing_field, wrong_type, unknown_op, missing_after,
// missing_key, invalid_base64, invalid_geometry, out_of_range,
// null_not_allowed, schema_invalid) and a message naming the field and the
// problem. It never crashes or asserts on input; nesting is bounded by
// DecoderConfig::max_nesting_depth without recursion during parsing.
//
// Schema-carrying records are fast because the "schema" part is located by a
// byte scan, hashed and looked up in a small cache of interpreted schemas;
// only the payload is parsed, by JsonTree (no copy of the text, no allocation
// once its buffers have grown).
//
// Conventions worth knowing: a primitive (non-struct) key becomes one column
// named "key"; a geometry value with an SRID is EWKB (the SRID inside the
// bytes, as PostGIS writes it), and the SRID is also in Datum::srid; a flattened
// row without "__op" decodes as a create, and with "__deleted" = "true" as a
// delete whose row is `before`; "__op"/"__deleted" are also read from record
// headers (ExtractNewRecordState's add.headers) when the row lacks them.
//
// Not thread-safe: use one decoder per thread (it reuses parse buffers).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "decode/json_tree.h"
#include "decode/schema_cache.h"
#include "sluice/change_event.h"
#include "sluice/config.h"
#include "sluice/record.h"
#include "sluice/result.h"

namespace sluice {

class DebeziumDecoder {
 public:
  explicit DebeziumDecoder(const DecoderConfig& config);

  Result<ChangeEvent> decode(const RawRecord& record);

 private:
  // A parsed record part: its schema (nullptr when schemaless) and its payload
  // at the root of `tree`. `null_payload` when the payload is JSON null.
  struct Document {
    std::shared_ptr<const RecordSchema> schema;
    bool null_payload = false;
  };

  Result<Document> parse_document(std::string_view text, JsonTree& tree, std::string_view what);
  Status decode_key(std::string_view text, ChangeEvent& event);
  Status decode_value(const Document& document, const std::vector<RecordHeader>& headers, ChangeEvent& event);

  DecoderConfig config_;
  SchemaCache cache_;
  JsonTree key_tree_;
  JsonTree value_tree_;
  JsonTree schema_tree_;
  // Last inferred schemas of schemaless rows, reused while the columns repeat.
  std::shared_ptr<const RowSchema> inferred_key_;
  std::shared_ptr<const RowSchema> inferred_before_;
  std::shared_ptr<const RowSchema> inferred_after_;
};

}  // namespace sluice
