// Reject: why a record cannot be applied. It becomes the dead-letter record's
// headers. Plain value type.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

enum class Stage { kDecode, kValidate, kSink };

std::string_view to_string(Stage stage);

struct Reject {
  Stage stage = Stage::kDecode;
  // The rule that rejected the record ("min:0"), or the error class
  // ("malformed_json", "23514 check_violation").
  std::string rule;
  std::string table;   // target table when known
  std::string column;  // offending column when known
  // The sentence an operator reads: "quantity = -5 violates min:0".
  std::string message;
};

}  // namespace sluice
