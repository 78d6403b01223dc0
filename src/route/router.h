// Router: decides the target table of each event from `table.name.format`.
// Immutable after construction; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "sluice/change_event.h"
#include "sluice/result.h"

namespace sluice {

class Router {
 public:
  // `format` uses ${topic}, ${source.db}, ${source.schema}, ${source.table}.
  // Dots inside substituted values become '_' (as in the Debezium JDBC sink);
  // a literal dot in the format separates schema and table ("replica.${source.table}").
  // Errors: an unknown placeholder (fatal, at start-up); messages start with
  // `key`, the configuration key the format came from.
  static Result<Router> create(const std::string& format, std::string_view key = "table.name.format");

  // The table of `event`. kRecord error, naming the key, when a placeholder has
  // no value for it (for example ${source.table} on an event without a source block).
  Result<TableName> route(const ChangeEvent& event) const;

 private:
  struct Part {
    bool placeholder = false;
    std::string text;  // literal text, or the placeholder name
  };
  std::vector<Part> parts_;
  std::string key_;  // the configuration key of the format, for messages
};

}  // namespace sluice
