#include "dlq/dead_letter_stats.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sluice::dlq {
namespace {

std::string or_unknown(const std::string& value) { return value.empty() ? "(none)" : value; }

void widen(std::optional<int64_t>& low, std::optional<int64_t>& high, int64_t value) {
  if (!low || value < *low) low = value;
  if (!high || value > *high) high = value;
}

// Counts in descending order, then by name.
std::vector<std::pair<std::string, int64_t>> ranked(const std::map<std::string, int64_t>& counts) {
  std::vector<std::pair<std::string, int64_t>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace

std::string iso_time(int64_t ms) {
  using namespace std::chrono;
  sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(ms)));
  year_month_day date(day);
  int64_t in_day = ms - duration_cast<milliseconds>(day.time_since_epoch()).count();
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long long>(in_day / 3'600'000), static_cast<long long>(in_day / 60'000 % 60),
                static_cast<long long>(in_day / 1000 % 60), static_cast<long long>(in_day % 1000));
  return out;
}

void DeadLetterStats::add(const DeadLetterRecord& record) {
  ++total_;
  if (!record.has_origin) ++without_lineage_;
  if (record.attempt > 1) ++retried_;
  std::string reason = or_unknown(record.rule);
  ++by_stage_[or_unknown(record.stage)];
  ++by_reason_[reason];
  ++by_topic_[or_unknown(record.topic)];
  ++by_table_[or_unknown(record.table)];
  auto& samples = samples_[reason];
  if (samples.size() < kSamplesPerReason) {
    std::string coordinates = record.has_origin ? record.topic + "[" + std::to_string(record.partition.value) + "]@" +
                                                      std::to_string(record.offset.value)
                                                : record.dlq_topic + "[" + std::to_string(record.dlq_partition.value) +
                                                      "]@" + std::to_string(record.dlq_offset.value) + " (dead-letter)";
    samples.push_back(Sample{std::move(coordinates), record.message});
  }
  if (record.failed_ms) widen(oldest_failure_ms_, newest_failure_ms_, *record.failed_ms);
  widen(oldest_record_ms_, newest_record_ms_, record.record_timestamp_ms);
}

std::string DeadLetterStats::text(const std::string& topic) const {
  std::ostringstream out;
  out << "dead-letter topic " << topic << ": " << total_ << " record(s)";
  if (retried_ > 0) out << ", " << retried_ << " failed again after a replay";
  if (without_lineage_ > 0) out << ", " << without_lineage_ << " without original coordinates (cannot be replayed)";
  out << "\n";
  if (total_ == 0) return out.str();
  auto section = [&](const char* title, const std::map<std::string, int64_t>& counts) {
    out << "\n" << title << "\n";
    size_t width = 0;
    for (const auto& [name, count] : counts) width = std::max(width, name.size());
    for (const auto& [name, count] : ranked(counts)) {
      out << "  " << name << std::string(width - name.size() + 2, ' ') << count << "\n";
    }
  };
  section("by stage", by_stage_);
  section("by reason", by_reason_);
  section("by source topic", by_topic_);
  section("by table", by_table_);
  out << "\n";
  if (oldest_failure_ms_) {
    out << "failed between   " << iso_time(*oldest_failure_ms_) << " and " << iso_time(*newest_failure_ms_) << "\n";
  }
  if (oldest_record_ms_) {
    out << "records between  " << iso_time(*oldest_record_ms_) << " and " << iso_time(*newest_record_ms_)
        << " (original Kafka timestamps)\n";
  }
  out << "\nsamples\n";
  for (const auto& [reason, count] : ranked(by_reason_)) {
    for (const Sample& sample : samples_.at(reason)) {
      out << "  " << reason << "  " << sample.coordinates << "  " << sample.message << "\n";
    }
  }
  return out.str();
}

std::string DeadLetterStats::json(const std::string& topic) const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto string = [&](const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  auto counts = [&](const char* name, const std::map<std::string, int64_t>& map) {
    w.Key(name);
    w.StartObject();
    for (const auto& [key, count] : map) {
      string(key);
      w.Int64(count);
    }
    w.EndObject();
  };
  auto time = [&](const char* name, const std::optional<int64_t>& ms) {
    w.Key(name);
    if (ms) {
      string(iso_time(*ms));
    } else {
      w.Null();
    }
  };
  w.StartObject();
  w.Key("topic");
  string(topic);
  w.Key("total");
  w.Int64(total_);
  w.Key("failed_again");
  w.Int64(retried_);
  w.Key("without_lineage");
  w.Int64(without_lineage_);
  counts("by_stage", by_stage_);
  counts("by_reason", by_reason_);
  counts("by_source_topic", by_topic_);
  counts("by_table", by_table_);
  time("oldest_failure", oldest_failure_ms_);
  time("newest_failure", newest_failure_ms_);
  time("oldest_record", oldest_record_ms_);
  time("newest_record", newest_record_ms_);
  w.Key("samples");
  w.StartArray();
  for (const auto& [reason, samples] : samples_) {
    for (const Sample& sample : samples) {
      w.StartObject();
      w.Key("reason");
      string(reason);
      w.Key("record");
      string(sample.coordinates);
      w.Key("message");
      string(sample.message);
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

}  // namespace sluice::dlq
