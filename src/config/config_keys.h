// The table of configuration keys: names, defaults, secrecy and how each value
// is parsed into Config. Private to the configuration module.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/config.h"

namespace sluice::config {

struct KeySpec {
  std::string name;
  std::string default_value;  // as text; empty means unset
  bool secret = false;        // masked in output; may come from NAME.file
  std::string description;
  // Parses `value` into `config`; returns an error sentence without the key name.
  std::function<std::optional<std::string>(Config& config, const std::string& value)> apply;
};

const std::vector<KeySpec>& key_specs();
const KeySpec* find_key(std::string_view name);

// librdkafka properties that hold secrets.
bool is_secret_kafka_property(std::string_view property);

}  // namespace sluice::config
