// DebeziumDecoder throughput on a realistic PostgreSQL update event of 9
// columns (bigint, numeric, text, timestamp, boolean, ...), in its
// schema-carrying JsonConverter form (about 4 KB, schema cache hit after the
// first record) and its schemaless form.
#include <benchmark/benchmark.h>

#include <string>

#include "decode/debezium_decoder.h"

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

void run(benchmark::State& state, const std::string& key, const std::string& value) {
  sluice::DebeziumDecoder decoder(sluice::DecoderConfig{});
  sluice::RawRecord record = sluice::RawRecord::copy_of("dbserver1.public.orders", sluice::Partition{0},
                                                        sluice::Offset{0}, 0, key, value);
  for (auto _ : state) {
    auto event = decoder.decode(record);
    if (!event.ok()) {
      state.SkipWithError(event.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(event);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(key.size() + value.size()));
  state.counters["record_bytes"] = static_cast<double>(key.size() + value.size());
}

void BM_DecodeSchemaCarrying(benchmark::State& state) {
  run(state, kKeyWithSchema, schema_carrying_value() + kPayload + "}");
}
BENCHMARK(BM_DecodeSchemaCarrying);

void BM_DecodeSchemaless(benchmark::State& state) { run(state, R"({"id":1004})", kPayload); }
BENCHMARK(BM_DecodeSchemaless);

}  // namespace
