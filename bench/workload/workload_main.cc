// sluice-workload: generates a DebeziumWorkload, produces it into a topic and
// writes the expected final table state (COPY text) and the coordinates of the
// malformed records, for the end-to-end benchmark and manual runs.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "debezium_workload.h"
#include "workload_producer.h"

namespace {

const char* kUsage = R"(usage: sluice-workload [options]
  --bootstrap HOST:PORT   produce to this broker (omit to only write files)
  --topic NAME            target topic (default workload)
  --events N              records in all (default 200000)
  --keys N                key space (default: twice the events)
  --mix C,U,D             op shares of creates, updates, deletes (default 0.6,0.3,0.1)
  --tombstones F          share of deletes followed by a tombstone (default 0.5)
  --schemaless            JsonConverter without schemas (default: with schemas)
  --note-bytes N          width of the note column (default 40)
  --invalid F             share of malformed records (default 0.02)
  --seed N                random seed (default 1)
  --partitions N          partitions the keys are spread over (default 16)
  --expected FILE         write the expected final rows (COPY text; columns on the first line)
  --invalid-list FILE     write "partition offset reason" of every malformed record
)";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice::workload;
  WorkloadSpec spec;
  std::string bootstrap, topic = "workload", expected_path, invalid_path;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string option = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(option + " needs a value");
        return argv[++i];
      };
      if (option == "--bootstrap") bootstrap = value();
      else if (option == "--topic") topic = value();
      else if (option == "--events") spec.events = std::stoull(value());
      else if (option == "--keys") spec.keys = std::stoull(value());
      else if (option == "--mix") {
        std::string mix = value();
        if (std::sscanf(mix.c_str(), "%lf,%lf,%lf", &spec.creates, &spec.updates, &spec.deletes) != 3) {
          throw std::runtime_error("--mix wants C,U,D");
        }
      } else if (option == "--tombstones") spec.tombstones = std::stod(value());
      else if (option == "--schemaless") spec.with_schema = false;
      else if (option == "--note-bytes") spec.note_bytes = std::stoul(value());
      else if (option == "--invalid") spec.invalid = std::stod(value());
      else if (option == "--seed") spec.seed = std::stoull(value());
      else if (option == "--partitions") spec.partitions = std::stoi(value());
      else if (option == "--expected") expected_path = value();
      else if (option == "--invalid-list") invalid_path = value();
      else if (option == "--help" || option == "-h") {
        std::cout << kUsage;
        return 0;
      } else {
        throw std::runtime_error("unknown option " + option);
      }
    }
    if (spec.partitions < 1) throw std::runtime_error("--partitions and --keys must be positive");

    auto started = std::chrono::steady_clock::now();
    DebeziumWorkload workload = DebeziumWorkload::generate(spec);
    double generated_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "workload: " << workload.records().size() << " records, " << workload.payload_bytes() / 1e6
              << " MB (" << workload.count('c') << " creates, " << workload.count('u') << " updates, "
              << workload.count('d') << " deletes, " << workload.count('t') << " tombstones, "
              << workload.invalid_records() << " malformed), " << workload.expected_rows()
              << " rows expected; generated in " << generated_s << " s\n";

    std::vector<RecordCoordinates> coordinates;
    if (!bootstrap.empty()) {
      started = std::chrono::steady_clock::now();
      coordinates = produce(workload, ProduceOptions{bootstrap, topic, {}, 0, SIZE_MAX});
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::cerr << "produced to " << topic << " in " << seconds << " s ("
                << static_cast<uint64_t>(workload.records().size() / seconds) << " records/s)\n";
    }
    if (!expected_path.empty()) {
      std::string header;
      for (const auto& name : DebeziumWorkload::column_names()) header += (header.empty() ? "" : ",") + name;
      write_file(expected_path, header + "\n" + workload.expected_copy_text());
    }
    if (!invalid_path.empty()) {
      std::string text;
      for (size_t i = 0; i < workload.records().size(); ++i) {
        const auto& record = workload.records()[i];
        if (record.invalid.empty()) continue;
        int64_t offset = coordinates.empty() ? -1 : coordinates[i].offset;
        text += std::to_string(record.partition) + " " + std::to_string(offset) + " " + record.invalid + "\n";
      }
      write_file(invalid_path, text);
    }
  } catch (const std::exception& error) {
    std::cerr << "sluice-workload: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
