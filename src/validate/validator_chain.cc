#include "validate/validator_chain.h"

#include <algorithm>
#include <atomic>

#include "core/logging.h"
#include "route/router.h"

namespace sluice::validate {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxShownCharacters = 64;
constexpr size_t kBindingsPerTable = 8;

std::atomic<uint64_t> next_chain_id{1};

bool binary_type(FieldType type) {
  return type == FieldType::kBytes || type == FieldType::kBits || type == FieldType::kGeometry;
}

bool topic_matches(const std::string& pattern, const std::string& topic) {
  return pattern.empty() || pattern == "*" || pattern == topic;
}

// Mirrors the sink: whether field `name` of `topic` is written.
bool field_wanted(const std::vector<std::pair<std::string, std::string>>& include,
                  const std::vector<std::pair<std::string, std::string>>& exclude, const std::string& topic,
                  const std::string& name) {
  bool any_include = false, included = false;
  for (const auto& [t, f] : include) {
    if (!topic_matches(t, topic)) continue;
    any_include = true;
    if (f == name) included = true;
  }
  if (any_include && !included) return false;
  for (const auto& [t, f] : exclude) {
    if (topic_matches(t, topic) && f == name) return false;
  }
  return true;
}

int integer_rank(TargetColumn::Kind kind) {
  switch (kind) {
    case TargetColumn::Kind::kSmallint: return 1;
    case TargetColumn::Kind::kInteger: return 2;
    case TargetColumn::Kind::kBigint: return 3;
    default: return 0;
  }
}

// The integer column the sink would create for `column`, by rank; 0 for none.
int source_integer_rank(const Column& column) {
  switch (column.type) {
    case FieldType::kInt8:
    case FieldType::kInt16: return 1;
    case FieldType::kInt32:
    case FieldType::kYear: return 2;
    case FieldType::kInt64: return 3;
    default: return 0;
  }
}

TargetColumn::Kind integer_kind(int rank) {
  return rank == 1 ? TargetColumn::Kind::kSmallint
                   : (rank == 2 ? TargetColumn::Kind::kInteger : TargetColumn::Kind::kBigint);
}

const char* integer_type(int rank) { return rank == 1 ? "smallint" : (rank == 2 ? "integer" : "bigint"); }

const DecimalText& integer_min(int rank) {
  static const DecimalText bounds[] = {*DecimalText::parse("-32768"), *DecimalText::parse("-2147483648"),
                                       *DecimalText::parse("-9223372036854775808")};
  return bounds[rank - 1];
}
const DecimalText& integer_max(int rank) {
  static const DecimalText bounds[] = {*DecimalText::parse("32767"), *DecimalText::parse("2147483647"),
                                       *DecimalText::parse("9223372036854775807")};
  return bounds[rank - 1];
}

// Cuts `text` after `n` code points.
std::string_view utf8_prefix(std::string_view text, size_t n) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (seen == n) return text.substr(0, i);
      ++seen;
    }
  }
  return text;
}

Reject make_reject(const ChangeEvent& event, std::string rule, std::string column, std::string message) {
  return Reject{Stage::kValidate, std::move(rule), event.table.display(), std::move(column), std::move(message)};
}

}  // namespace

TableName table_from_key(const std::string& table) {
  size_t dot = table.find('.');
  if (dot == std::string::npos) return TableName{"", table};
  return TableName{table.substr(0, dot), table.substr(dot + 1)};
}

std::string display_value(const Datum* value, const Column* column, bool masked) {
  if (value == nullptr) return "null (absent)";
  if (value->null) return "null";
  if (masked) return "<masked>";
  if (column != nullptr && binary_type(column->type)) return "<" + std::to_string(value->text.size()) + " bytes>";
  if (column != nullptr && numeric_type(column->type) && DecimalText::parse(value->text)) return value->text;
  std::string_view shown = utf8_prefix(value->text, kMaxShownCharacters);
  std::string out = "'";
  for (char c : shown) {
    if (c == '\'') out += "''";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  out += shown.size() < value->text.size() ? "'..." : "'";
  return out;
}

ValidatorChain::ValidatorChain(const Config& config, TargetCatalog* catalog, Options options)
    : primary_key_mode_(config.sink.primary_key_mode),
      primary_key_fields_(config.sink.primary_key_fields),
      schema_evolution_(config.sink.schema_evolution),
      field_include_(config.sink.field_include),
      field_exclude_(config.sink.field_exclude),
      catalog_(catalog),
      options_(options),
      id_(next_chain_id.fetch_add(1)) {}

Result<std::unique_ptr<ValidatorChain>> ValidatorChain::create(const Config& config, TargetCatalog* catalog,
                                                               std::vector<std::string>* notes) {
  return create(config, catalog, notes, Options{});
}

Result<std::unique_ptr<ValidatorChain>> ValidatorChain::create(const Config& config, TargetCatalog* catalog,
                                                               std::vector<std::string>* notes, Options options) {
  std::unique_ptr<ValidatorChain> chain(new ValidatorChain(config, catalog, options));
  std::vector<std::string> problems;

  for (const ColumnSetting& setting : config.validate_rules) {
    std::string key = "validate." + setting.table + "." + setting.column;
    std::vector<std::string> written = split_rules(setting.value);
    if (written.empty()) {
      problems.push_back(key + ": no rule (use not_null, min:N, max:N, range:A..B, regex:PATTERN, in:a|b|c, "
                               "max_length:N)");
      continue;
    }
    ColumnRules column{setting.column, {}};
    for (const std::string& text : written) {
      auto rule = Rule::parse(text);
      if (!rule) {
        problems.push_back(key + ": " + rule.error().message);
        continue;
      }
      column.rules.push_back(std::move(*rule));
    }
    chain->rule_count_ += column.rules.size();
    chain->rules_[table_from_key(setting.table)].columns.push_back(std::move(column));
  }
  for (const ColumnSetting& mask : config.masks) chain->rules_[table_from_key(mask.table)].masked.insert(mask.column);

  // Every key naming a table or column, to check that they exist.
  struct Named {
    std::string key;
    std::string table;
    std::string column;
    bool dropped;
  };
  std::vector<Named> named;
  for (const ColumnSetting& s : config.validate_rules) {
    named.push_back({"validate." + s.table + "." + s.column, s.table, s.column, false});
  }
  for (const ColumnSetting& s : config.masks) {
    named.push_back({"mask." + s.table + "." + s.column, s.table, s.column, s.value == "drop"});
  }
  std::set<std::string> dropped;
  for (const ColumnSetting& s : config.masks) {
    if (s.value == "drop") dropped.insert(s.table + "." + s.column);
  }

  // Tables the configured topics route to, when the format needs only ${topic}.
  std::optional<std::set<TableName>> routed;
  if (!config.kafka.topics.empty() && config.kafka.topics_regex.empty()) {
    if (auto router = Router::create(config.sink.table_name_format)) {
      routed.emplace();
      for (const std::string& topic : config.kafka.topics) {
        ChangeEvent probe;
        probe.origin.topic = topic;
        auto table = router->route(probe);
        if (!table) {
          routed.reset();
          break;
        }
        routed->insert(*table);
      }
    }
  }
  if (routed) {
    for (const Named& n : named) {
      if (routed->contains(table_from_key(n.table))) continue;
      std::string known;
      for (const TableName& t : *routed) known += (known.empty() ? "" : ", ") + t.display();
      problems.push_back(n.key + ": table " + n.table + " is not the target of any configured topic (targets: " +
                         known + ")");
    }
  }

  if (catalog != nullptr && problems.empty()) {
    std::map<std::string, std::optional<TargetTable>> described;
    for (const Named& n : named) {
      auto it = described.find(n.table);
      if (it == described.end()) {
        auto table = catalog->describe(table_from_key(n.table));
        if (!table) return table.take_error();
        it = described.emplace(n.table, std::move(*table)).first;
        if (!it->second) {
          if (config.sink.schema_evolution == SchemaEvolution::kNone) {
            problems.push_back(n.key + ": table " + n.table +
                               " does not exist in the target and schema.evolution = none will not create it");
          } else if (notes != nullptr) {
            notes->push_back(n.key + ": table " + n.table +
                             " does not exist yet; sluice will create it from the events (its columns are not "
                             "checked now)");
          }
        }
      }
      if (!it->second) continue;
      if (it->second->find(n.column) == nullptr && !n.dropped && !dropped.contains(n.table + "." + n.column)) {
        problems.push_back(n.key + ": table " + n.table + " has no column " + n.column);
      }
    }
  }

  if (!problems.empty()) {
    std::string message;
    for (const std::string& p : problems) message += (message.empty() ? "" : "\n") + p;
    return Error::fatal("bad_configuration", message);
  }
  return chain;
}

std::optional<Reject> ValidatorChain::validate(const ChangeEvent& event) const {
  std::optional<Reject> rejected = check(event);
  if (rejected) counters_.add(rejected->table, rejected->rule);
  return rejected;
}

std::optional<Reject> ValidatorChain::check_key(const ChangeEvent& event) const {
  bool remove = event.tombstone || event.op == Op::kDelete;
  auto field_value = [&](const std::string& name, bool key_first) -> const Datum* {
    const Datum* value = nullptr;
    auto look = [&](const std::optional<Row>& row) {
      if (value == nullptr && row && row->schema) value = row->find(name);
    };
    if (key_first) look(event.key);
    if (!remove) look(event.after);
    look(event.before);
    if (!key_first) look(event.key);
    return value;
  };
  auto check_fields = [&](bool key_first) -> std::optional<Reject> {
    for (const std::string& name : primary_key_fields_) {
      const Datum* value = field_value(name, key_first);
      if (value == nullptr) {
        return make_reject(event, "key_missing", name, "key column " + name + " is missing from the event");
      }
      if (value->null) return make_reject(event, "key_null", name, "key column " + name + " is null");
    }
    return std::nullopt;
  };
  switch (primary_key_mode_) {
    case PrimaryKeyMode::kKafka:
    case PrimaryKeyMode::kNone: return std::nullopt;
    case PrimaryKeyMode::kRecordValue: return check_fields(false);
    case PrimaryKeyMode::kRecordKey: {
      if (!primary_key_fields_.empty()) return check_fields(true);
      if (!event.key || !event.key->schema || event.key->schema->columns.empty()) {
        return make_reject(event, "key_missing", "",
                           std::string("op ") + std::string(to_string(event.op)) +
                               " event has no record key (primary.key.mode = record_key needs one)");
      }
      const auto& columns = event.key->schema->columns;
      for (size_t i = 0; i < columns.size(); ++i) {
        if (i >= event.key->values.size() || event.key->values[i].null) {
          return make_reject(event, "key_null", columns[i].name, "key column " + columns[i].name + " is null");
        }
      }
      if (!remove && event.after && event.after->schema) {
        // The after image must agree that the key is complete.
        for (const Column& column : columns) {
          const Datum* value = event.after->find(column.name);
          if (value != nullptr && value->null) {
            return make_reject(event, "primary_key_null", column.name,
                               "primary key column " + column.name + " = null in the after image");
          }
        }
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<Reject> ValidatorChain::check(const ChangeEvent& event) const {
  if (event.op == Op::kTruncate || event.op == Op::kMessage) return std::nullopt;
  if (auto rejected = check_key(event)) return rejected;
  bool remove = event.tombstone || event.op == Op::kDelete;
  if (remove) return std::nullopt;
  if (!event.after || !event.after->schema) {
    return make_reject(event, "after_missing", "",
                       std::string("op ") + std::string(to_string(event.op)) + " event has no after image");
  }
  const Row& after = *event.after;

  // Fast path: the binding of the previous event on this thread, when it is
  // for the same table, topic and schema (the common case of a steady stream).
  thread_local LastBinding last;
  std::shared_ptr<const Binding> binding;
  if (last.chain_id == id_ && last.binding && last.binding->schema.get() == after.schema.get() &&
      last.binding->table == event.table && last.binding->topic == event.origin.topic &&
      (catalog_ == nullptr || Clock::now() < last.binding->valid_until)) {
    binding = last.binding;
  } else {
    auto found = rules_.find(event.table);
    const TableRules* table_rules = found == rules_.end() ? nullptr : &found->second;
    if (table_rules == nullptr && catalog_ == nullptr) return std::nullopt;
    binding = bind(event, table_rules);
    last.chain_id = id_;
    last.binding = binding;
  }
  const TableRules* rules = binding->rules;

  const auto& columns = after.schema->columns;
  for (int index : binding->primary_key) {
    if (static_cast<size_t>(index) < after.values.size() && after.values[static_cast<size_t>(index)].null) {
      const std::string& name = columns[static_cast<size_t>(index)].name;
      return make_reject(event, "primary_key_null", name,
                         "primary key column " + name + " = null in the after image");
    }
  }
  for (size_t i = 0; i < binding->fits.size() && i < after.values.size(); ++i) {
    if (!binding->fits[i]) continue;
    bool masked = rules != nullptr && rules->masked.contains(columns[i].name);
    if (auto rejected = check_fit(event, columns[i], after.values[i], *binding->fits[i], masked)) return rejected;
  }
  if (rules == nullptr) return std::nullopt;
  for (size_t c = 0; c < rules->columns.size(); ++c) {
    const ColumnRules& column_rules = rules->columns[c];
    int index = binding->rule_columns[c];
    const Datum* value = index >= 0 && static_cast<size_t>(index) < after.values.size()
                             ? &after.values[static_cast<size_t>(index)]
                             : nullptr;
    const Column* column = index >= 0 ? &columns[static_cast<size_t>(index)] : nullptr;
    for (const Rule& rule : column_rules.rules) {
      if (auto why = rule.check(value, column)) {
        bool masked = rules->masked.contains(column_rules.column);
        return make_reject(event, rule.text(), column_rules.column,
                           column_rules.column + " = " + display_value(value, column, masked) + " violates " +
                               rule.text() + *why);
      }
    }
  }
  return std::nullopt;
}

std::optional<Reject> ValidatorChain::check_fit(const ChangeEvent& event, const Column& column, const Datum& value,
                                                const Fit& fit, bool masked) const {
  auto reject = [&](const std::string& why) {
    return make_reject(event, "fits:" + fit.type, column.name,
                       column.name + " = " + display_value(&value, &column, masked) + " " + why);
  };
  if (value.null) {
    if (!fit.not_null) return std::nullopt;
    return make_reject(event, "column_not_null", column.name,
                       column.name + " = null violates NOT NULL of column " + event.table.display() + "." +
                           column.name);
  }
  switch (fit.kind) {
    case TargetColumn::Kind::kOther: return std::nullopt;
    case TargetColumn::Kind::kVarchar:
    case TargetColumn::Kind::kChar: {
      if (fit.length < 0) return std::nullopt;
      size_t length = utf8_length(value.text);
      if (length <= static_cast<size_t>(fit.length)) return std::nullopt;
      return reject("(" + std::to_string(length) + " characters) does not fit " + fit.type);
    }
    case TargetColumn::Kind::kSmallint:
    case TargetColumn::Kind::kInteger:
    case TargetColumn::Kind::kBigint: {
      auto number = DecimalText::parse(value.text);
      if (!number) return std::nullopt;  // not a number: PostgreSQL explains better
      int rank = integer_rank(fit.kind);
      if (!number->finite() || !number->integral()) return reject("is not an integer, as " + fit.type + " needs");
      if (number->compare(integer_min(rank)) < 0 || number->compare(integer_max(rank)) > 0) {
        return reject("is out of range for " + fit.type);
      }
      return std::nullopt;
    }
    case TargetColumn::Kind::kNumeric: {
      auto number = DecimalText::parse(value.text);
      if (!number || number->kind() == DecimalText::Kind::kNaN) return std::nullopt;
      if (fit.precision < 0) return std::nullopt;
      if (!number->finite()) return reject("does not fit " + fit.type + " (infinity needs unconstrained numeric)");
      int64_t integer_digits = number->integer_digits();
      if (integer_digits > fit.precision - fit.scale) {
        return reject("needs " + std::to_string(integer_digits) + " integer digits; " + fit.type + " holds " +
                      std::to_string(fit.precision - fit.scale));
      }
      // A negative scale keeps multiples of 10^-scale: 1250 does not fit numeric(5,-2).
      if (number->least_scale() > fit.scale) {
        if (fit.scale < 0) {
          return reject("is not a multiple of 1" + std::string(static_cast<size_t>(-fit.scale), '0') + ", as " +
                        fit.type + " needs (sluice does not round)");
        }
        return reject("has " + std::to_string(number->fraction_digits()) + " fraction digits; " + fit.type +
                      " keeps " + std::to_string(fit.scale) + " (sluice does not round)");
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::shared_ptr<const ValidatorChain::Binding> ValidatorChain::bind(const ChangeEvent& event,
                                                                    const TableRules* rules) const {
  std::lock_guard lock(mutex_);
  TableState& state = state_[event.table];
  if (catalog_ != nullptr) {
    auto now = Clock::now();
    if (!state.ever_described || now - state.described >= options_.catalog_refresh) {
      state.described = now;
      state.ever_described = true;
      auto described = catalog_->describe(event.table);
      if (described) {
        state.target = *described ? std::make_shared<const TargetTable>(std::move(**described)) : nullptr;
        ++state.generation;
      } else {
        logging::get("validate")
            ->debug("cannot describe {} (column fit checks use what was known): {}", event.table.display(),
                    described.error().message);
      }
    }
  }
  const RowSchema* schema = event.after->schema.get();
  for (auto it = state.bindings.rbegin(); it != state.bindings.rend(); ++it) {
    const Binding& b = **it;
    if (b.schema.get() == schema && b.generation == state.generation && b.topic == event.origin.topic) return *it;
  }
  auto binding = make_binding(event, rules, state);
  std::erase_if(state.bindings, [&](const auto& b) { return b->generation != state.generation; });
  if (state.bindings.size() >= kBindingsPerTable) state.bindings.erase(state.bindings.begin());
  state.bindings.push_back(binding);
  return binding;
}

std::shared_ptr<const ValidatorChain::Binding> ValidatorChain::make_binding(const ChangeEvent& event,
                                                                            const TableRules* rules,
                                                                            const TableState& state) const {
  auto binding = std::make_shared<Binding>();
  binding->schema = event.after->schema;
  binding->table = event.table;
  binding->topic = event.origin.topic;
  binding->rules = rules;
  binding->generation = state.generation;
  binding->valid_until = catalog_ == nullptr ? Clock::time_point::max() : state.described + options_.catalog_refresh;
  const RowSchema& schema = *binding->schema;
  if (rules != nullptr) {
    for (const ColumnRules& column : rules->columns) binding->rule_columns.push_back(schema.index_of(column.column));
  }
  binding->fits.resize(schema.columns.size());
  const TargetTable* target = state.target.get();
  if (target == nullptr) return binding;
  for (const std::string& name : target->primary_key) {
    if (int index = schema.index_of(name); index >= 0) binding->primary_key.push_back(index);
  }
  const bool evolving = schema_evolution_ == SchemaEvolution::kBasic;
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const Column& source = schema.columns[i];
    const TargetColumn* column = target->find(source.name);
    if (column == nullptr || binary_type(source.type)) continue;
    if (rules != nullptr && rules->masked.contains(source.name)) continue;  // the masked value is written
    if (!field_wanted(field_include_, field_exclude_, event.origin.topic, source.name)) continue;
    Fit fit{column->kind, column->not_null, column->length, column->precision, column->scale, column->type};
    // With schema.evolution = basic the sink widens the column to the source's
    // declared type before writing, so the limit is the wider of the two.
    bool widens = evolving && !source.inferred;
    if (widens && fit.kind == TargetColumn::Kind::kVarchar && source.type == FieldType::kString &&
        source.precision > fit.length && fit.length >= 0) {
      fit.length = source.precision;
      fit.type = "character varying(" + std::to_string(fit.length) + ")";
    }
    if (widens && integer_rank(fit.kind) > 0 && source_integer_rank(source) > integer_rank(fit.kind)) {
      int rank = source_integer_rank(source);
      fit.kind = integer_kind(rank);
      fit.type = integer_type(rank);
    }
    if (widens && fit.kind == TargetColumn::Kind::kNumeric && fit.precision > 0 &&
        source.type == FieldType::kDecimal && source.precision > 0 && source.scale >= 0 &&
        source.scale <= source.precision) {
      int32_t integer_digits = std::max(fit.precision - fit.scale, source.precision - source.scale);
      int32_t scale = std::max(fit.scale, source.scale);
      if (integer_digits + scale != fit.precision || scale != fit.scale) {
        fit.precision = integer_digits + scale;
        fit.scale = scale;
        fit.type = "numeric(" + std::to_string(fit.precision) + "," + std::to_string(fit.scale) + ")";
      }
    }
    if (fit.kind == TargetColumn::Kind::kOther && !fit.not_null) continue;
    binding->fits[i] = std::move(fit);
  }
  return binding;
}

}  // namespace sluice::validate
