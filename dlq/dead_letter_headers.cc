#include "dead_letter_headers.h"

namespace sluice::dlq {

bool is_dead_letter_header(std::string_view name) {
  return name.starts_with("__connect.errors.") || name.starts_with("sluice.errors.");
}

}  // namespace sluice::dlq
