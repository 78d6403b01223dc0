#include "decode/schema_cache.h"

#include <cstring>

namespace sluice {
namespace {

RecordSchema::RowLayout make_layout(const ConnectSchema& row, std::string_view exclude_prefix) {
  RecordSchema::RowLayout layout;
  auto schema = std::make_shared<RowSchema>();
  for (size_t i = 0; i < row.fields.size(); ++i) {
    const ConnectSchema& f = row.fields[i];
    if (!exclude_prefix.empty() && f.field.starts_with(exclude_prefix)) continue;
    Column c;
    c.name = f.field;
    c.type = f.field_type;
    c.optional = f.optional;
    c.scale = f.scale;
    c.precision = f.precision;
    if (f.kind == ValueKind::kArray && !f.fields.empty()) c.element_type = f.fields[0].field_type;
    c.logical_name = f.name;
    schema->columns.push_back(std::move(c));
    layout.fields.push_back(static_cast<int>(i));
  }
  layout.schema = std::move(schema);
  return layout;
}

}  // namespace

std::shared_ptr<const RecordSchema> make_record_schema(ConnectSchema root, std::string_view metadata_prefix) {
  auto record = std::make_shared<RecordSchema>();
  record->root = std::move(root);
  const ConnectSchema& r = record->root;
  if (r.kind != ValueKind::kStruct) {
    record->shape = RecordSchema::Shape::kScalar;
    auto schema = std::make_shared<RowSchema>();
    Column c;
    c.name = "key";
    c.type = r.field_type;
    c.optional = r.optional;
    c.scale = r.scale;
    c.precision = r.precision;
    if (r.kind == ValueKind::kArray && !r.fields.empty()) c.element_type = r.fields[0].field_type;
    c.logical_name = r.name;
    schema->columns.push_back(std::move(c));
    record->row.schema = std::move(schema);
    record->row.fields.push_back(-1);
    return record;
  }
  int op = r.field_index("op");
  int before = r.field_index("before");
  int after = r.field_index("after");
  bool before_ok = before < 0 || r.fields[static_cast<size_t>(before)].kind == ValueKind::kStruct;
  bool after_ok = after < 0 || r.fields[static_cast<size_t>(after)].kind == ValueKind::kStruct;
  int source = r.field_index("source");
  // Logical decoding messages (op "m") carry op and source but no images.
  if (op >= 0 && (before >= 0 || after >= 0 || source >= 0) && before_ok && after_ok) {
    record->shape = RecordSchema::Shape::kEnvelope;
    if (after >= 0) {
      record->after = make_layout(r.fields[static_cast<size_t>(after)], {});
      record->after.struct_field = after;
    }
    if (before >= 0) {
      record->before = make_layout(r.fields[static_cast<size_t>(before)], {});
      record->before.struct_field = before;
      // Debezium uses one Value schema for both images: share the RowSchema.
      if (after >= 0 && record->before.fields == record->after.fields &&
          record->before.schema->columns.size() == record->after.schema->columns.size()) {
        bool same = true;
        const auto& a = record->after.schema->columns;
        const auto& b = record->before.schema->columns;
        for (size_t i = 0; i < a.size() && same; ++i) {
          same = a[i].name == b[i].name && a[i].type == b[i].type && a[i].scale == b[i].scale &&
                 a[i].precision == b[i].precision && a[i].optional == b[i].optional &&
                 a[i].element_type == b[i].element_type && a[i].logical_name == b[i].logical_name;
        }
        if (same) record->before.schema = record->after.schema;
      }
    }
    return record;
  }
  record->shape = RecordSchema::Shape::kRow;
  record->row = make_layout(r, metadata_prefix);
  return record;
}

std::shared_ptr<const RecordSchema> SchemaCache::find(std::string_view bytes, size_t hash) const {
  for (const Entry& e : entries_) {
    if (e.hash == hash && e.bytes.size() == bytes.size() &&
        std::memcmp(e.bytes.data(), bytes.data(), bytes.size()) == 0) {
      return e.schema;
    }
  }
  return nullptr;
}

std::shared_ptr<const RecordSchema> SchemaCache::find_prefix(std::string_view text, size_t& length) {
  auto matches = [&](const Entry& e) {
    return e.bytes.size() <= text.size() && std::memcmp(e.bytes.data(), text.data(), e.bytes.size()) == 0;
  };
  if (last_hit_ < entries_.size() && matches(entries_[last_hit_])) {
    length = entries_[last_hit_].bytes.size();
    return entries_[last_hit_].schema;
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (matches(entries_[i])) {
      last_hit_ = i;
      length = entries_[i].bytes.size();
      return entries_[i].schema;
    }
  }
  return nullptr;
}

void SchemaCache::insert(std::string_view bytes, size_t hash, std::shared_ptr<const RecordSchema> schema) {
  if (capacity_ == 0) return;
  Entry entry{hash, std::string(bytes), std::move(schema)};
  if (entries_.size() < capacity_) {
    entries_.push_back(std::move(entry));
    return;
  }
  entries_[next_] = std::move(entry);
  next_ = (next_ + 1) % capacity_;
}

}  // namespace sluice
