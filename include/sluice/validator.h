// Validator: a check an event must pass before it reaches the sink. Validators
// are immutable after construction and safe to call from several threads.
#pragma once

#include <optional>

#include "sluice/change_event.h"
#include "sluice/reject.h"

namespace sluice {

class Validator {
 public:
  virtual ~Validator() = default;

  // nullopt when the event passes; otherwise why it is rejected (stage kValidate).
  virtual std::optional<Reject> validate(const ChangeEvent& event) const = 0;
};

}  // namespace sluice
