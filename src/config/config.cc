#include "sluice/config.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <vector>

#include "config_keys.h"
#include "sluice/identifier.h"

extern char** environ;

namespace sluice {
namespace {

constexpr std::string_view kMasked = "******";

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Raw settings in precedence order: later assignments win.
using RawSettings = std::map<std::string, std::string>;

void parse_properties(std::string_view text, RawSettings& out, std::vector<std::string>& problems) {
  std::string section;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    ++line_no;
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        problems.push_back("line " + std::to_string(line_no) + ": section header '" + line + "' has no closing ]");
        continue;
      }
      section = trim(std::string_view(line).substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      problems.push_back("line " + std::to_string(line_no) + ": expected key = value, got '" + line + "'");
      continue;
    }
    std::string key = trim(std::string_view(line).substr(0, eq));
    std::string value = trim(std::string_view(line).substr(eq + 1));
    if (key.empty()) {
      problems.push_back("line " + std::to_string(line_no) + ": empty key");
      continue;
    }
    if (!section.empty()) key = section + "." + key;
    out[key] = value;
  }
}

// A password inside connection.url (postgresql://user:secret@host/db, or
// password=secret in conninfo form) replaced by the mask.
std::string mask_url_password(std::string url) {
  if (size_t scheme = url.find("://"); scheme != std::string::npos) {
    size_t authority_end = url.find_first_of("/?", scheme + 3);
    size_t at = url.rfind('@', authority_end == std::string::npos ? url.size() : authority_end);
    if (at != std::string::npos && at > scheme) {
      size_t colon = url.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) url.replace(colon + 1, at - colon - 1, kMasked);
    }
  }
  // password=... in conninfo or in the URI's query string.
  for (size_t at = url.find("password="); at != std::string::npos; at = url.find("password=", at + 1)) {
    bool starts_word = at == 0 || url[at - 1] == ' ' || url[at - 1] == '?' || url[at - 1] == '&';
    if (!starts_word) continue;
    size_t value = at + 9;
    size_t end = value;
    if (end < url.size() && url[end] == '\'') {
      end = url.find('\'', end + 1);
      end = end == std::string::npos ? url.size() : end + 1;
    } else {
      end = url.find_first_of(" &", value);
      if (end == std::string::npos) end = url.size();
    }
    url.replace(value, end - value, kMasked);
  }
  return url;
}

// Levenshtein distance, for "did you mean" on misspelt keys.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The known key closest to `key` when it is close enough to be a typo; else empty.
std::string closest_key(std::string_view key) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, key.size() / 5) + 1;
  for (const auto& spec : config::key_specs()) {
    size_t distance = edit_distance(key, spec.name);
    if (distance < best_distance) {
      best_distance = distance;
      best = spec.name;
    }
  }
  return best;
}

// SLUICE_KAFKA_BOOTSTRAP_SERVERS -> kafka.bootstrap.servers; known keys by their
// mangled name (dots and dashes become underscores, upper case).
std::string env_name(std::string_view key) {
  std::string out = "SLUICE_";
  for (char c : key) out += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void read_environment(RawSettings& out) {
  std::map<std::string, std::string> known;
  for (const auto& spec : config::key_specs()) {
    known[env_name(spec.name)] = spec.name;
    if (spec.secret) known[env_name(spec.name + ".file")] = spec.name + ".file";
  }
  for (char** env = environ; env != nullptr && *env != nullptr; ++env) {
    std::string_view entry(*env);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(entry.substr(0, eq));
    std::string value(entry.substr(eq + 1));
    if (auto it = known.find(name); it != known.end()) {
      out[it->second] = value;
    } else if (starts_with(name, "SLUICE_KAFKA_")) {
      std::string property;
      for (char c : name.substr(13)) property += c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out["kafka." + property] = value;
    }
  }
}

std::optional<std::string> read_secret_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read '" + path + "'";
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return std::nullopt;
}

// Splits `validate.<table>.<column>`; the table may itself contain dots
// (schema.table), so the column is the last part.
std::optional<ColumnSetting> column_setting(std::string_view rest, const std::string& value) {
  size_t dot = rest.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size()) return std::nullopt;
  return ColumnSetting{std::string(rest.substr(0, dot)), std::string(rest.substr(dot + 1)), value};
}

// Why the table (schema.table or table) or column a setting names cannot be a
// PostgreSQL identifier, or nullopt.
std::optional<std::string> identifiers_problem(const ColumnSetting& setting) {
  size_t dot = setting.table.find('.');
  if (dot != std::string::npos) {
    if (auto problem = identifier_problem(setting.table.substr(0, dot))) return "schema " + *problem;
  }
  if (auto problem = identifier_problem(dot == std::string::npos ? setting.table : setting.table.substr(dot + 1))) {
    return "table " + *problem;
  }
  if (auto problem = identifier_problem(setting.column)) return "column " + *problem;
  return std::nullopt;
}

Result<Config> build(const RawSettings& raw) {
  Config config;
  std::vector<std::string> problems;
  std::map<std::string, std::string> values;  // known key -> value (defaults first)
  for (const auto& spec : config::key_specs()) {
    if (!spec.default_value.empty()) values[spec.name] = spec.default_value;
  }
  config.kafka.properties["group.id"] = "sluice";

  for (const auto& [key, value] : raw) {
    if (starts_with(key, "kafka.")) {
      std::string property = key.substr(6);
      if (property.size() > 5 && property.ends_with(".file") &&
          config::is_secret_kafka_property(property.substr(0, property.size() - 5))) {
        std::string secret;
        if (auto error = read_secret_file(value, secret)) {
          problems.push_back(key + ": " + *error);
        } else {
          config.kafka.properties[property.substr(0, property.size() - 5)] = secret;
        }
      } else if (property.empty()) {
        problems.push_back("kafka.: empty librdkafka property name");
      } else {
        config.kafka.properties[property] = value;
      }
      continue;
    }
    if (starts_with(key, "validate.") || starts_with(key, "mask.")) {
      bool is_validate = starts_with(key, "validate.");
      std::string_view rest = std::string_view(key).substr(is_validate ? 9 : 5);
      if (!is_validate && (rest == "key" || rest == "key.file")) {
        // handled below as a regular (secret) key
      } else {
        auto setting = column_setting(rest, value);
        if (!setting) {
          problems.push_back(key + ": expected " + (is_validate ? "validate" : "mask") + ".<table>.<column>");
        } else if (auto problem = identifiers_problem(*setting)) {
          problems.push_back(key + ": " + *problem);
        } else {
          (is_validate ? config.validate_rules : config.masks).push_back(std::move(*setting));
        }
        continue;
      }
    }
    if (key.ends_with(".file")) {
      const auto* spec = config::find_key(key.substr(0, key.size() - 5));
      if (spec != nullptr && spec->secret) {
        std::string secret;
        if (auto error = read_secret_file(value, secret)) {
          problems.push_back(key + ": " + *error);
        } else if (!raw.contains(spec->name)) {
          values[spec->name] = secret;
        }
        continue;
      }
    }
    if (config::find_key(key) == nullptr) {
      std::string suggestion = closest_key(key);
      problems.push_back(key + ": unknown key" + (suggestion.empty() ? "" : " (did you mean " + suggestion + "?)") +
                         " (see README, Configuration)");
      continue;
    }
    values[key] = value;
  }

  for (const auto& spec : config::key_specs()) {
    auto it = values.find(spec.name);
    if (it == values.end()) continue;
    if (auto error = spec.apply(config, it->second)) problems.push_back(spec.name + ": " + *error);
    std::string shown = spec.secret && !it->second.empty() ? std::string(kMasked) : it->second;
    if (spec.name == "connection.url") shown = mask_url_password(shown);
    config.effective.emplace_back(spec.name, std::move(shown));
  }
  for (const auto& [property, value] : config.kafka.properties) {
    config.effective.emplace_back("kafka." + property,
                                  config::is_secret_kafka_property(property) ? std::string(kMasked) : value);
  }
  for (const auto& rule : config.validate_rules) {
    config.effective.emplace_back("validate." + rule.table + "." + rule.column, rule.value);
  }
  for (const auto& mask : config.masks) {
    config.effective.emplace_back("mask." + mask.table + "." + mask.column, mask.value);
  }
  std::sort(config.effective.begin(), config.effective.end());

  // Cross-key rules.
  if (config.kafka.topics.empty() && config.kafka.topics_regex.empty()) {
    problems.push_back("topics: required (or topics.regex)");
  } else if (!config.kafka.topics.empty() && !config.kafka.topics_regex.empty()) {
    problems.push_back("topics.regex: set together with topics; choose one");
  }
  if (config.connection.url.empty()) problems.push_back("connection.url: required");
  if (!config.kafka.properties.contains("bootstrap.servers")) {
    problems.push_back("kafka.bootstrap.servers: required");
  }
  if (config.errors.tolerance == ErrorsTolerance::kAll && config.errors.dlq_topic.empty()) {
    problems.push_back(
        "errors.deadletterqueue.topic.name: required when errors.tolerance = all "
        "(sluice never drops a rejected record silently)");
  }
  if (config.sink.primary_key_mode == PrimaryKeyMode::kRecordValue && config.sink.primary_key_fields.empty()) {
    problems.push_back("primary.key.fields: required when primary.key.mode = record_value");
  }
  const bool keyed = config.sink.primary_key_mode == PrimaryKeyMode::kRecordKey ||
                     config.sink.primary_key_mode == PrimaryKeyMode::kRecordValue;
  if (config.sink.insert_mode == InsertMode::kHistory && !keyed) {
    problems.push_back("insert.mode: history keeps versions per key and needs primary.key.mode = record_key or "
                       "record_value");
  }
  if (!config.sink.history_table_name_format.empty() && !keyed) {
    problems.push_back("history.table.name.format: history tables keep versions per key and need "
                       "primary.key.mode = record_key or record_value");
  }
  for (const auto& [key, format] : {std::pair<std::string, const std::string*>{"history.table.name.format",
                                                                                &config.sink.history_table_name_format},
                                    {"changelog.table.name.format", &config.sink.changelog_table_name_format}}) {
    if (*format == config.sink.table_name_format) {
      problems.push_back(key + ": same as table.name.format; the " + key.substr(0, key.find('.')) +
                         " needs a table of its own");
    }
  }
  if (!config.sink.history_table_name_format.empty() &&
      config.sink.history_table_name_format == config.sink.changelog_table_name_format) {
    problems.push_back("changelog.table.name.format: same as history.table.name.format; each needs a table of its own");
  }
  if (config.errors.retry_backoff_max < config.errors.retry_backoff_initial) {
    problems.push_back("errors.retry.delay.max.ms: smaller than errors.retry.backoff.initial.ms");
  }
  for (const auto& mask : config.masks) {
    if (mask.value != "hash" && mask.value != "redact" && mask.value != "drop") {
      problems.push_back("mask." + mask.table + "." + mask.column + ": '" + mask.value +
                         "' is not one of hash, redact, drop");
    } else if (mask.value == "hash" && config.mask_key.empty()) {
      problems.push_back("mask.key: required by mask." + mask.table + "." + mask.column + " = hash");
    }
  }

  if (!problems.empty()) {
    std::string message;
    for (const auto& problem : problems) message += (message.empty() ? "" : "\n") + problem;
    return Error::fatal("bad_configuration", message);
  }
  return config;
}

}  // namespace

Result<Config> parse_config_text(std::string_view properties_text,
                                 const std::vector<std::pair<std::string, std::string>>& overrides) {
  RawSettings raw;
  std::vector<std::string> problems;
  parse_properties(properties_text, raw, problems);
  for (const auto& [key, value] : overrides) raw[key] = value;
  if (!problems.empty()) {
    std::string message;
    for (const auto& problem : problems) message += (message.empty() ? "" : "\n") + problem;
    return Error::fatal("bad_configuration", message);
  }
  return build(raw);
}

Result<Config> load_config(const ConfigSources& sources) {
  RawSettings raw;
  std::vector<std::string> problems;
  if (!sources.file.empty()) {
    std::ifstream in(sources.file, std::ios::binary);
    if (!in) return Error::fatal("bad_configuration", "--config: cannot read '" + sources.file + "'");
    std::ostringstream text;
    text << in.rdbuf();
    parse_properties(text.str(), raw, problems);
    for (auto& problem : problems) problem = sources.file + ": " + problem;
  }
  if (sources.use_environment) read_environment(raw);
  for (const auto& [key, value] : sources.overrides) raw[key] = value;
  if (!problems.empty()) {
    std::string message;
    for (const auto& problem : problems) message += (message.empty() ? "" : "\n") + problem;
    return Error::fatal("bad_configuration", message);
  }
  return build(raw);
}

}  // namespace sluice
