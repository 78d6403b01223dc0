// JsonTree: a compact, reusable DOM for one JSON text (RFC 8259, strict: no
// comments, NaN or trailing commas; UTF-8 validated). Nodes are stored in
// pre-order in one vector, so a container's descendants are the nodes up to its
// `end`; numbers keep their exact source text (never converted to double).
// Strings without escapes are views into the parsed text, so nothing is copied;
// only escaped strings are decoded, into a buffer of the tree. Parsing is
// bounded by a nesting limit and never recurses, so hostile input cannot
// exhaust the stack.
// Not thread-safe: one instance per decoder; buffers are reused between parses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/result.h"

namespace sluice {

enum class JsonKind : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kObject, kArray };

struct JsonNode {
  JsonKind kind = JsonKind::kNull;
  uint32_t end = 0;        // index one past the last descendant (scalars: index + 1)
  std::string_view text;   // strings: unescaped text; numbers: source text
};

class JsonTree {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Parses `json`. On failure returns Error::record with reason malformed_json,
  // invalid_utf8 or nesting_too_deep; `what` names the part for the message.
  // Node texts point into `json` (and into the tree): `json` must stay alive
  // and unchanged while the tree is read, until the next parse.
  Status parse(std::string_view json, int max_depth, std::string_view what);

  const JsonNode& node(uint32_t index) const { return nodes_[index]; }
  uint32_t root() const { return 0; }
  bool empty() const { return nodes_.empty(); }

  // Index of the value of member `key` of the object at `object`, or kNone.
  uint32_t find(uint32_t object, std::string_view key) const;

  // Appends the value at `index` as compact JSON text.
  void write(uint32_t index, std::string& out) const;

 private:
  class Parser;

  std::string unescaped_;        // decoded escaped strings; never reallocated during a parse
  std::vector<JsonNode> nodes_;
  std::vector<uint32_t> open_;   // containers being parsed (indexes into nodes_)
};

// Offset of the first byte of `text` that is not part of valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid),
// or std::string_view::npos.
size_t find_invalid_utf8(std::string_view text);

// Appends `text` as a quoted JSON string.
void write_json_string(std::string_view text, std::string& out);

}  // namespace sluice
