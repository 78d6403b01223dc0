// Cost of the validator chain against the cost of decoding the same event:
// the realistic 9-column PostgreSQL update of bench_decode (schema-carrying
// JsonConverter form), validated by five configured rules
// (min, max, range, regex, max_length) plus the structural checks. The issue's
// budget: the chain costs at most 10% of decoding. Also the masker (one hashed
// column) for reference.
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>

#include "decode/debezium_decoder.h"
#include "validate/masker.h"
#include "validate/validator_chain.h"

namespace {

const char* kValueFields = R"([
 {"type":"int64","optional":false,"field":"id"},
 {"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"},"field":"amount"},
 {"type":"string","optional":true,"field":"description"},
 {"type":"int64","optional":false,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"created_at"},
 {"type":"boolean","optional":false,"field":"active"},
 {"type":"int32","optional":true,"field":"quantity"},
 {"type":"string","optional":true,"field":"email"},
 {"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"updated_at"},
 {"type":"double","optional":true,"field":"score"}])";

std::string schema_carrying_value() {
  std::string fields = kValueFields;
  std::string value = R"({"schema":{"type":"struct","fields":[
 {"type":"struct","fields":)" + fields + R"(,"optional":true,"name":"dbserver1.public.orders.Value","field":"before"},
 {"type":"struct","fields":)" + fields + R"(,"optional":true,"name":"dbserver1.public.orders.Value","field":"after"},
 {"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},
 {"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},
 {"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,last,false,incremental"},"default":"false","field":"snapshot"},
 {"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"string","optional":false,"field":"schema"},
 {"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},
 {"type":"int64","optional":true,"field":"xmin"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"},
 {"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},
 {"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},
 {"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}],
 "optional":false,"name":"dbserver1.public.orders.Envelope","version":1},
"payload":)";
  return value;
}

const char* kPayload = R"({"before":{"id":1004,"amount":"AeJA","description":"Large order of blue widgets, express shipping","created_at":1709214300123456,"active":true,"quantity":12,"email":"anne.kretchmar@example.com","updated_at":"2024-02-29T13:45:00.123456Z","score":0.875},"after":{"id":1004,"amount":"AeJB","description":"Large order of blue widgets, express shipping, gift wrapped","created_at":1709214300123456,"active":true,"quantity":13,"email":"anne.kretchmar@example.com","updated_at":"2024-02-29T13:46:10.654321Z","score":0.9},"source":{"version":"2.5.0.Final","connector":"postgresql","name":"dbserver1","ts_ms":1709214370654,"snapshot":"false","db":"inventory","sequence":"[\"24023128\",\"24023184\"]","schema":"public","table":"orders","txId":555,"lsn":24023184,"xmin":null},"op":"u","ts_ms":1709214370700,"transaction":null})";

const char* kKeyWithSchema =
    R"({"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"dbserver1.public.orders.Key"},"payload":{"id":1004}})";

sluice::RawRecord record() {
  static const std::string value = schema_carrying_value() + kPayload + "}";
  return sluice::RawRecord::copy_of("dbserver1.public.orders", sluice::Partition{0}, sluice::Offset{0}, 0,
                                    std::string(kKeyWithSchema), value);
}

sluice::Config five_rules() {
  sluice::Config config;
  config.kafka.topics = {"dbserver1.public.orders"};
  config.sink.table_name_format = "orders";
  config.validate_rules = {{"orders", "quantity", "min:0, max:1000"},
                           {"orders", "amount", "range:0..1000000"},
                           {"orders", "email", "regex:[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}"},
                           {"orders", "description", "max_length:200"}};
  config.masks = {{"orders", "email", "hash"}};
  config.mask_key = "bench-key";
  return config;
}

sluice::ChangeEvent decoded() {
  sluice::DebeziumDecoder decoder(sluice::DecoderConfig{});
  auto event = decoder.decode(record());
  if (!event.ok()) throw std::runtime_error(event.error().message);
  event->table = sluice::TableName{"", "orders"};
  return std::move(*event);
}

void BM_DecodeSameEvent(benchmark::State& state) {
  sluice::DebeziumDecoder decoder(sluice::DecoderConfig{});
  sluice::RawRecord raw = record();
  for (auto _ : state) {
    auto event = decoder.decode(raw);
    benchmark::DoNotOptimize(event);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeSameEvent);

void BM_ValidateFiveRules(benchmark::State& state) {
  sluice::Config config = five_rules();
  auto chain = sluice::validate::ValidatorChain::create(config, nullptr);
  if (!chain.ok() || (*chain)->rule_count() != 5) {
    state.SkipWithError("bad rule configuration");
    return;
  }
  sluice::ChangeEvent event = decoded();
  for (auto _ : state) {
    auto rejected = (*chain)->validate(event);
    if (rejected) {
      state.SkipWithError(rejected->message.c_str());
      break;
    }
    benchmark::DoNotOptimize(rejected);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateFiveRules);

// The structural checks alone, and the rules one at a time, to see where time goes.
void BM_ValidateRules(benchmark::State& state, std::vector<sluice::ColumnSetting> rules) {
  sluice::Config config = five_rules();
  config.validate_rules = std::move(rules);
  auto chain = sluice::validate::ValidatorChain::create(config, nullptr);
  sluice::ChangeEvent event = decoded();
  for (auto _ : state) {
    auto rejected = (*chain)->validate(event);
    benchmark::DoNotOptimize(rejected);
  }
}
BENCHMARK_CAPTURE(BM_ValidateRules, structural_only, {});
BENCHMARK_CAPTURE(BM_ValidateRules, min_max, {{"orders", "quantity", "min:0, max:1000"}});
BENCHMARK_CAPTURE(BM_ValidateRules, range_decimal, {{"orders", "amount", "range:0..1000000"}});
BENCHMARK_CAPTURE(BM_ValidateRules, regex, {{"orders", "email", "regex:[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}"}});
BENCHMARK_CAPTURE(BM_ValidateRules, max_length, {{"orders", "description", "max_length:200"}});

void BM_MaskOneHashedColumn(benchmark::State& state) {
  sluice::Config config = five_rules();
  auto masker = sluice::validate::Masker::create(config);
  sluice::ChangeEvent original = decoded();
  for (auto _ : state) {
    state.PauseTiming();
    sluice::ChangeEvent event = original;
    state.ResumeTiming();
    auto rejected = (*masker)->apply(event);
    benchmark::DoNotOptimize(rejected);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MaskOneHashedColumn);

}  // namespace
