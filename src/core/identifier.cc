#include "sluice/identifier.h"

#include <cstdio>

namespace sluice {
namespace {

constexpr size_t kDisplayBytes = 100;

bool continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string identifier_for_display(std::string_view name) {
  std::string_view shown = name;
  if (shown.size() > kDisplayBytes) {
    size_t cut = kDisplayBytes;
    while (cut > 0 && continuation_byte(shown[cut])) --cut;
    shown = shown.substr(0, cut);
  }
  std::string out = "\"";
  for (char c : shown) {
    if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  if (shown.size() < name.size()) out += "...";
  return out + "\"";
}

std::optional<std::string> identifier_problem(std::string_view name) {
  if (name.empty()) return std::string("the name is empty; PostgreSQL identifiers cannot be empty");
  if (name.find('\0') != std::string_view::npos) {
    return identifier_for_display(name) + " contains a NUL byte, which PostgreSQL identifiers cannot hold";
  }
  if (name.size() > kMaxIdentifierBytes) {
    return identifier_for_display(name) + " is " + std::to_string(name.size()) +
           " bytes long; PostgreSQL keeps at most " + std::to_string(kMaxIdentifierBytes) +
           " bytes of an identifier (NAMEDATALEN - 1) and would truncate it";
  }
  return std::nullopt;
}

}  // namespace sluice
