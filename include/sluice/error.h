// Error: what went wrong, how the pipeline must react to it, and a message an
// operator understands. Every failure that crosses a module boundary is an
// Error; the class decides between retry, dead-letter and stop.
// A plain value type; not thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

// How the pipeline reacts to a failure. Each technology maps its own error codes
// to this in exactly one place (connectors/kafka/error_mapping,
// sinks/postgres/sqlstate).
enum class ErrorClass {
  kTransient,  // infrastructure hiccup: pause, back off, retry; never dead-letter
  kRecord,     // this record's content is bad: dead-letter it, carry on
  kFatal,      // configuration, authentication, fencing: stop without committing
};

std::string_view to_string(ErrorClass error_class);

struct Error {
  ErrorClass error_class = ErrorClass::kFatal;
  // Short machine-friendly reason: a rule name, a SQLSTATE name, "malformed_json".
  std::string reason;
  // The full sentence for logs and the dead-letter header.
  std::string message;

  static Error transient(std::string reason, std::string message) {
    return Error{ErrorClass::kTransient, std::move(reason), std::move(message)};
  }
  static Error record(std::string reason, std::string message) {
    return Error{ErrorClass::kRecord, std::move(reason), std::move(message)};
  }
  static Error fatal(std::string reason, std::string message) {
    return Error{ErrorClass::kFatal, std::move(reason), std::move(message)};
  }
};

}  // namespace sluice
