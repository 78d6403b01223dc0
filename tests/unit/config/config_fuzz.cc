// libFuzzer target for the configuration parser (sluice::parse_config_text).
// The input is a properties file; the parser must return a Config or a
// bad_configuration error, never crash or throw. Seed corpus: tests/fuzz/config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sluice/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // `*.file` keys read the file the operator names; a fuzzer naming /dev/zero
  // would only measure the disk. Those inputs stay out of the corpus.
  if (text.find(".file") != std::string_view::npos || text.find("_FILE") != std::string_view::npos) return -1;
  auto config = sluice::parse_config_text(text);
  if (!config.ok() && config.error().error_class != sluice::ErrorClass::kFatal) __builtin_trap();
  return 0;
}
