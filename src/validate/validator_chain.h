// ValidatorChain: every check an event passes before it reaches the sink, in
// order: the built-in structural checks (key present and complete, an after
// image for c/r/u, primary-key columns non-null, values that fit the target
// column when the TargetCatalog knows it), then the configured rules
// (`validate.<table>.<column>`) on the after image. Deletes are checked for
// their key only. Rules are parsed at start-up; a bad rule, an unknown table or
// column is a configuration error naming its key.
// Thread-safe: validate() may be called from several threads.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/config.h"
#include "sluice/target_catalog.h"
#include "sluice/validator.h"
#include "validate/reject_counters.h"
#include "validate/rule.h"

namespace sluice::validate {

// "schema.table" or "table" as written in a configuration key.
TableName table_from_key(const std::string& table);

class ValidatorChain final : public Validator {
 public:
  struct Options {
    // How long a target table's description is trusted before it is read
    // again (tables are created and widened while sluice runs).
    std::chrono::milliseconds catalog_refresh{10000};
  };

  // Parses every `validate.*` key and checks the tables and columns that
  // `validate.*` and `mask.*` keys name: against the tables the configured
  // topics route to (when table.name.format needs only ${topic}) and, with a
  // catalog, against the target: a missing column of an existing table is an
  // error (unless the column is masked with drop); a missing table is an error
  // under schema.evolution = none and a note in `notes` otherwise.
  // Errors: kFatal "bad_configuration" listing every problem, one per line;
  // the catalog's error when the target cannot be read.
  static Result<std::unique_ptr<ValidatorChain>> create(const Config& config, TargetCatalog* catalog,
                                                        std::vector<std::string>* notes = nullptr);
  static Result<std::unique_ptr<ValidatorChain>> create(const Config& config, TargetCatalog* catalog,
                                                        std::vector<std::string>* notes, Options options);

  std::optional<Reject> validate(const ChangeEvent& event) const override;

  // Rejects so far per table and rule.
  RejectCounters& counters() const { return counters_; }
  // Number of configured rules.
  size_t rule_count() const { return rule_count_; }

 private:
  struct ColumnRules {
    std::string column;
    std::vector<Rule> rules;
  };
  struct TableRules {
    std::vector<ColumnRules> columns;
    std::set<std::string, std::less<>> masked;  // values never shown in messages
  };
  // Limits of one after-image column in its target column.
  struct Fit {
    TargetColumn::Kind kind = TargetColumn::Kind::kOther;
    bool not_null = false;
    int64_t length = -1;
    int32_t precision = -1;
    int32_t scale = -1;
    std::string type;  // for messages and the rule name
  };
  // What is known about one (table, after-image schema): resolved once.
  struct Binding {
    std::shared_ptr<const RowSchema> schema;
    TableName table;
    std::string topic;
    const TableRules* rules = nullptr;  // of this chain; null: no configured rules
    uint64_t generation = 0;
    std::chrono::steady_clock::time_point valid_until;  // the target description is re-read after this
    std::vector<std::optional<Fit>> fits;  // per after column; nullopt: not checked
    std::vector<int> rule_columns;         // per TableRules column: after index or -1
    std::vector<int> primary_key;          // after indexes of the target's primary key
  };
  // The binding the previous event on a thread used, tagged with its chain.
  struct LastBinding {
    uint64_t chain_id = 0;
    std::shared_ptr<const Binding> binding;
  };
  struct TableState {
    std::shared_ptr<const TargetTable> target;  // null: unknown or absent
    uint64_t generation = 0;
    std::chrono::steady_clock::time_point described{};
    bool ever_described = false;
    std::vector<std::shared_ptr<const Binding>> bindings;  // most recent last
  };

  ValidatorChain(const Config& config, TargetCatalog* catalog, Options options);

  std::optional<Reject> check(const ChangeEvent& event) const;
  std::optional<Reject> check_key(const ChangeEvent& event) const;
  std::shared_ptr<const Binding> bind(const ChangeEvent& event, const TableRules* rules) const;
  std::shared_ptr<const Binding> make_binding(const ChangeEvent& event, const TableRules* rules,
                                              const TableState& state) const;
  std::optional<Reject> check_fit(const ChangeEvent& event, const Column& column, const Datum& value,
                                  const Fit& fit, bool masked) const;

  PrimaryKeyMode primary_key_mode_;
  std::vector<std::string> primary_key_fields_;
  SchemaEvolution schema_evolution_;
  std::vector<std::pair<std::string, std::string>> field_include_;
  std::vector<std::pair<std::string, std::string>> field_exclude_;
  TargetCatalog* catalog_;
  Options options_;
  const uint64_t id_;  // unique per chain, for the per-thread fast path
  std::unordered_map<TableName, TableRules> rules_;
  size_t rule_count_ = 0;

  mutable std::mutex mutex_;
  mutable std::unordered_map<TableName, TableState> state_;
  mutable RejectCounters counters_;
};

// How a value appears in a reject message: numbers bare, other text quoted and
// cut after 64 characters, binary values by size, masked values hidden.
std::string display_value(const Datum* value, const Column* column, bool masked);

}  // namespace sluice::validate
