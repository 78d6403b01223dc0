// Rule: one configured check of a column value (`validate.<table>.<column> =
// RULE[, RULE...]`), parsed once at start-up and immutable afterwards, so it is
// safe to evaluate from several threads. Rules other than not_null pass a null
// or absent value, as SQL constraints do.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/change_event.h"
#include "sluice/result.h"
#include "validate/decimal_text.h"

namespace re2 {
class RE2;
}

namespace sluice::validate {

enum class RuleKind { kNotNull, kMin, kMax, kRange, kRegex, kIn, kMaxLength };

class Rule {
 public:
  // Parses one rule ("min:0", "regex:[A-Z]{2}", "in:new|paid"). The error
  // message names the problem, not the key.
  static Result<Rule> parse(std::string_view text);

  RuleKind kind() const { return kind_; }
  // The rule as written, trimmed: the `sluice.errors.rule` header.
  const std::string& text() const { return text_; }

  // nullopt when `value` (nullptr: the column is absent) passes; otherwise why
  // not, as the part of the message after "<column> = <value> violates <rule>",
  // empty when nothing needs adding.
  std::optional<std::string> check(const Datum* value, const Column* column) const;

 private:
  struct Bound {
    std::shared_ptr<const std::string> text;  // owns what `value` views
    DecimalText value;
  };
  struct Choice {
    std::string text;
    std::optional<DecimalText> number;  // views `text` of the same heap node
  };
  static Result<Bound> parse_bound(std::string_view text);

  RuleKind kind_ = RuleKind::kNotNull;
  std::string text_;
  std::optional<Bound> low_;   // min, range
  std::optional<Bound> high_;  // max, range
  std::shared_ptr<const re2::RE2> regex_;
  std::shared_ptr<const std::vector<Choice>> choices_;
  size_t max_length_ = 0;
};

// Splits a rule list at commas. A comma belongs to the rule before it unless
// what follows starts a rule ("not_null" or a known "name:"), so patterns and
// choice lists may contain commas: "regex:^[a-z]{1,3}$, not_null".
std::vector<std::string> split_rules(std::string_view list);

// Number of Unicode code points in UTF-8 text (bytes that do not continue a
// sequence), as PostgreSQL counts varchar(n).
size_t utf8_length(std::string_view text);

// Whether values of `type` are numbers in text form.
bool numeric_type(FieldType type);

}  // namespace sluice::validate
