#include "decode/json_scan.h"

#include <cstddef>

namespace sluice {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// `i` at the opening quote; returns the index after the closing quote, or npos.
size_t skip_string(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// `i` at the first character of a value; returns the index after it, or npos.
size_t skip_value(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  char c = s[i];
  if (c == '"') return skip_string(s, i);
  if (c == '{' || c == '[') {
    size_t depth = 0;
    while (i < s.size()) {
      char d = s[i];
      if (d == '"') {
        i = skip_string(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_space(s[i])) ++i;
  return i;
}

}  // namespace

ConnectEnvelopeSpan scan_connect_envelope(std::string_view s) {
  ConnectEnvelopeSpan span;
  size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '{') return span;
  i = skip_space(s, i + 1);
  bool have_schema = false;
  bool have_payload = false;
  while (i < s.size() && s[i] == '"') {
    size_t key_end = skip_string(s, i);
    if (key_end == std::string_view::npos) return span;
    std::string_view key = s.substr(i + 1, key_end - i - 2);
    i = skip_space(s, key_end);
    if (i >= s.size() || s[i] != ':') return span;
    i = skip_space(s, i + 1);
    const bool ours = key == "schema" || key == "payload";
    // Not a JsonConverter record: stop before scanning the rest (a schemaless
    // Debezium value starts with "before" or a column, a large value).
    if (!ours && !have_schema && !have_payload) return span;
    size_t value_end = skip_value(s, i);
    if (value_end == std::string_view::npos || value_end == i) return span;
    std::string_view value = s.substr(i, value_end - i);
    if (key == "schema" && !have_schema) {
      span.schema = value;
      have_schema = true;
    } else if (key == "payload" && !have_payload) {
      span.payload = value;
      have_payload = true;
    } else {
      span.extra_members = true;
    }
    i = skip_space(s, value_end);
    if (i < s.size() && s[i] == ',') {
      i = skip_space(s, i + 1);
      continue;
    }
    break;
  }
  if (i >= s.size() || s[i] != '}') return span;
  if (skip_space(s, i + 1) != s.size()) return span;
  span.found = have_schema && have_payload && !span.extra_members;
  span.extra_members = span.extra_members && have_schema && have_payload;
  return span;
}

}  // namespace sluice
