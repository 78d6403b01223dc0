// libFuzzer target for DebeziumDecoder. The input is a Kafka record value, or
// "KEY\x01VALUE" for a key and value; a leading '\x02' makes the value null
// (a tombstone). The decoder must return an event or a record error, never
// crash. Seed corpus: tests/data/debezium/*.json.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "decode/debezium_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sluice::DebeziumDecoder decoder([] {
    sluice::DecoderConfig config;
    config.max_record_bytes = 1 << 20;
    return config;
  }());
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<std::string> key;
  std::optional<std::string> value;
  bool tombstone = !input.empty() && input[0] == '\x02';
  if (tombstone) input.remove_prefix(1);
  if (size_t split = input.find('\x01'); split != std::string_view::npos) {
    key = std::string(input.substr(0, split));
    input.remove_prefix(split + 1);
  }
  if (!tombstone) value = std::string(input);
  auto event = decoder.decode(sluice::RawRecord::copy_of("fuzz", sluice::Partition{0}, sluice::Offset{0}, 0, key, value));
  if (!event.ok() && event.error().error_class != sluice::ErrorClass::kRecord) __builtin_trap();
  return 0;
}
