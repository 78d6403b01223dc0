// Locating the top-level members of a JSON object without parsing it, so the
// decoder can find the "schema" and "payload" parts of a Kafka Connect record
// and hash the schema bytes instead of building a DOM for them. The scan is
// string- and bracket-aware but does not validate; whatever it returns is
// parsed properly afterwards. Stateless; thread-safe.
#pragma once

#include <string_view>

namespace sluice {

struct ConnectEnvelopeSpan {
  bool found = false;         // a top-level object of exactly "schema" and "payload"
  std::string_view schema;    // raw text of the schema value
  std::string_view payload;   // raw text of the payload value
  // "schema" and "payload" were found beside other members (only detected when
  // the record starts with one of them, as JsonConverter writes it).
  bool extra_members = false;
};

// Returns found == false when `json` is not an object with exactly the members
// "schema" and "payload" (in any order), or when the scan hits malformed text.
ConnectEnvelopeSpan scan_connect_envelope(std::string_view json);

}  // namespace sluice
