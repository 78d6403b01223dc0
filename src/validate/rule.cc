#include "validate/rule.h"

#include <re2/re2.h>

#include <charconv>

namespace sluice::validate {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr std::string_view kRuleNames[] = {"min:", "max:", "range:", "regex:", "in:", "max_length:"};

bool starts_rule(std::string_view text) {
  if (text == "not_null") return true;
  for (std::string_view name : kRuleNames) {
    if (text.substr(0, name.size()) == name) return true;
  }
  return false;
}

bool binary_type(FieldType type) {
  return type == FieldType::kBytes || type == FieldType::kBits || type == FieldType::kGeometry;
}

// Memory bound of one compiled pattern; RE2 refuses larger automata at start-up.
constexpr int64_t kRegexMaxMemory = 8 << 20;

}  // namespace

std::vector<std::string> split_rules(std::string_view list) {
  std::vector<std::string> out;
  list = trim(list);
  while (!list.empty() && (list.back() == ',' || list.back() == ' ' || list.back() == '\t')) list.remove_suffix(1);
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view piece = list.substr(start, comma - start);
    if (!out.empty() && !starts_rule(trim(piece))) {
      out.back() += ",";
      out.back() += piece;
    } else if (!trim(piece).empty()) {
      out.emplace_back(piece);
    }
    start = comma + 1;
  }
  for (std::string& rule : out) rule = std::string(trim(rule));
  std::erase_if(out, [](const std::string& rule) { return rule.empty(); });
  return out;
}

size_t utf8_length(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool numeric_type(FieldType type) {
  switch (type) {
    case FieldType::kInt8:
    case FieldType::kInt16:
    case FieldType::kInt32:
    case FieldType::kInt64:
    case FieldType::kFloat32:
    case FieldType::kFloat64:
    case FieldType::kDecimal:
    case FieldType::kVariableDecimal:
    case FieldType::kYear: return true;
    default: return false;
  }
}

Result<Rule::Bound> Rule::parse_bound(std::string_view text) {
  auto owned = std::make_shared<const std::string>(trim(text));
  auto value = DecimalText::parse(*owned);
  if (!value || value->kind() == DecimalText::Kind::kNaN) {
    return Error::fatal("bad_rule", "'" + *owned + "' is not a number");
  }
  return Bound{std::move(owned), *value};
}

Result<Rule> Rule::parse(std::string_view written) {
  Rule rule;
  rule.text_ = std::string(trim(written));
  std::string_view text = rule.text_;
  if (text == "not_null") {
    rule.kind_ = RuleKind::kNotNull;
    return rule;
  }
  size_t colon = text.find(':');
  std::string_view name = colon == std::string_view::npos ? text : text.substr(0, colon);
  std::string_view argument = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  auto bad = [&](const std::string& why) { return Error::fatal("bad_rule", "'" + rule.text_ + "': " + why); };
  if (name == "not_null") return bad("not_null takes no argument");
  if (colon == std::string_view::npos) {
    return bad("unknown rule (use not_null, min:N, max:N, range:A..B, regex:PATTERN, in:a|b|c, max_length:N)");
  }
  if (name == "min" || name == "max") {
    auto bound = parse_bound(argument);
    if (!bound) return bad(bound.error().message);
    rule.kind_ = name == "min" ? RuleKind::kMin : RuleKind::kMax;
    (name == "min" ? rule.low_ : rule.high_) = std::move(*bound);
    return rule;
  }
  if (name == "range") {
    size_t dots = argument.find("..");
    if (dots == std::string_view::npos) return bad("expected range:LOW..HIGH");
    auto low = parse_bound(argument.substr(0, dots));
    auto high = parse_bound(argument.substr(dots + 2));
    if (!low) return bad(low.error().message);
    if (!high) return bad(high.error().message);
    if (low->value.compare(high->value) > 0) return bad("the lower bound is above the upper bound");
    rule.kind_ = RuleKind::kRange;
    rule.low_ = std::move(*low);
    rule.high_ = std::move(*high);
    return rule;
  }
  if (name == "regex") {
    if (argument.empty()) return bad("empty pattern");
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(kRegexMaxMemory);
    auto regex = std::make_shared<const RE2>(re2::StringPiece(argument.data(), argument.size()), options);
    if (!regex->ok()) return bad("invalid pattern: " + regex->error());
    rule.kind_ = RuleKind::kRegex;
    rule.regex_ = std::move(regex);
    return rule;
  }
  if (name == "in") {
    auto choices = std::make_shared<std::vector<Choice>>();
    size_t start = 0;
    while (start <= argument.size()) {
      size_t bar = argument.find('|', start);
      if (bar == std::string_view::npos) bar = argument.size();
      choices->push_back(Choice{std::string(argument.substr(start, bar - start)), std::nullopt});
      start = bar + 1;
    }
    if (argument.empty()) return bad("expected in:a|b|c");
    // The vector is final: numbers may now view its strings.
    for (Choice& choice : *choices) choice.number = DecimalText::parse(choice.text);
    rule.kind_ = RuleKind::kIn;
    rule.choices_ = std::move(choices);
    return rule;
  }
  if (name == "max_length") {
    argument = trim(argument);
    size_t n = 0;
    auto [end, ec] = std::from_chars(argument.data(), argument.data() + argument.size(), n);
    if (ec != std::errc() || end != argument.data() + argument.size() || argument.empty()) {
      std::string why(1, '\'');
      why.append(argument).append("' is not a non-negative integer");
      return bad(why);
    }
    rule.kind_ = RuleKind::kMaxLength;
    rule.max_length_ = n;
    return rule;
  }
  return bad("unknown rule (use not_null, min:N, max:N, range:A..B, regex:PATTERN, in:a|b|c, max_length:N)");
}

std::optional<std::string> Rule::check(const Datum* value, const Column* column) const {
  bool null = value == nullptr || value->null;
  if (kind_ == RuleKind::kNotNull) return null ? std::optional<std::string>("") : std::nullopt;
  if (null) return std::nullopt;
  const std::string& text = value->text;
  switch (kind_) {
    case RuleKind::kNotNull: return std::nullopt;
    case RuleKind::kMin:
    case RuleKind::kMax:
    case RuleKind::kRange: {
      auto number = DecimalText::parse(text);
      if (!number) return std::string(" (not a number)");
      if (low_ && number->compare(low_->value) < 0) return std::string();
      if (high_ && number->compare(high_->value) > 0) return std::string();
      if (number->kind() == DecimalText::Kind::kNaN) return std::string();
      return std::nullopt;
    }
    case RuleKind::kRegex:
      // Match() without submatches runs the DFA only: linear in the value.
      if (regex_->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::ANCHOR_BOTH, nullptr, 0)) {
        return std::nullopt;
      }
      return std::string();
    case RuleKind::kIn: {
      for (const Choice& choice : *choices_) {
        if (choice.text == text) return std::nullopt;
      }
      if (column != nullptr && numeric_type(column->type)) {
        if (auto number = DecimalText::parse(text); number && number->kind() != DecimalText::Kind::kNaN) {
          for (const Choice& choice : *choices_) {
            if (choice.number && choice.number->compare(*number) == 0) return std::nullopt;
          }
        }
      }
      return std::string();
    }
    case RuleKind::kMaxLength: {
      bool bytes = column != nullptr && binary_type(column->type);
      size_t length = bytes ? text.size() : utf8_length(text);
      if (length <= max_length_) return std::nullopt;
      return " (" + std::to_string(length) + (bytes ? " bytes)" : " characters)");
    }
  }
  return std::nullopt;
}

}  // namespace sluice::validate
