#include "route/router.h"

namespace sluice {

Result<Router> Router::create(const std::string& format, std::string_view key) {
  Router router;
  const std::string name_of_key(key);
  router.key_ = name_of_key;
  size_t pos = 0;
  while (pos < format.size()) {
    size_t open = format.find("${", pos);
    if (open == std::string::npos) {
      router.parts_.push_back({false, format.substr(pos)});
      break;
    }
    if (open > pos) router.parts_.push_back({false, format.substr(pos, open - pos)});
    size_t close = format.find('}', open);
    if (close == std::string::npos) {
      return Error::fatal("bad_configuration", name_of_key + ": unclosed ${ in '" + format + "'");
    }
    std::string name = format.substr(open + 2, close - open - 2);
    if (name != "topic" && name != "source.db" && name != "source.schema" && name != "source.table") {
      return Error::fatal("bad_configuration", name_of_key + ": unknown placeholder ${" + name +
                                                   "} (use ${topic}, ${source.db}, ${source.schema}, ${source.table})");
    }
    router.parts_.push_back({true, name});
    pos = close + 1;
  }
  if (router.parts_.empty()) return Error::fatal("bad_configuration", name_of_key + ": must not be empty");
  return router;
}

Result<TableName> Router::route(const ChangeEvent& event) const {
  std::string schema;
  std::string table;
  for (const Part& part : parts_) {
    if (!part.placeholder) {
      // A literal dot splits schema from table.
      for (char c : part.text) {
        if (c == '.' && schema.empty()) {
          schema = std::move(table);
          table.clear();
        } else {
          table += c;
        }
      }
      continue;
    }
    const std::string* value = nullptr;
    if (part.text == "topic") value = &event.origin.topic;
    if (part.text == "source.db") value = &event.source.db;
    if (part.text == "source.schema") value = &event.source.schema;
    if (part.text == "source.table") value = &event.source.table;
    if (value == nullptr || value->empty()) {
      return Error::record("no_table_name", key_ + " needs ${" + part.text + "}, which this event lacks");
    }
    for (char c : *value) table += c == '.' ? '_' : c;
  }
  if (table.empty()) return Error::record("no_table_name", key_ + " produced an empty table name");
  return TableName{schema, table};
}

}  // namespace sluice
