#include "connectors/kafka/kafka_preflight.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <mutex>
#include <set>

namespace sluice::kafka {
namespace {

struct HandleDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* metadata) const { rd_kafka_metadata_destroy(metadata); }
};

// The last error librdkafka reported in the background (authentication, TLS,
// resolution); the metadata call itself only says that it timed out.
struct LastError {
  std::mutex mutex;
  std::string message;
};

void on_error(rd_kafka_t*, int, const char* reason, void* opaque) {
  auto* last = static_cast<LastError*>(opaque);
  std::lock_guard lock(last->mutex);
  last->message = reason;
}

// Consumer-group settings mean nothing to this client: librdkafka would warn.
bool applies_to_client(const std::string& key) {
  return key != "group.id" && key != "group.instance.id";
}

}  // namespace

KafkaPreflight preflight_kafka(const Config& config, std::chrono::milliseconds timeout) {
  KafkaPreflight out;
  std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
  char error[512];
  for (const auto& [key, value] : config.kafka.properties) {
    if (!applies_to_client(key)) continue;
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      out.problems.push_back("kafka." + key + ": " + error);
    }
  }
  if (!out.problems.empty()) return out;
  LastError last;
  rd_kafka_conf_set_opaque(conf.get(), &last);
  rd_kafka_conf_set_error_cb(conf.get(), on_error);
  // Quiet: problems come back as sentences naming the key, not as log lines.
  rd_kafka_conf_set(conf.get(), "log_level", "0", error, sizeof error);
  std::unique_ptr<rd_kafka_t, HandleDeleter> handle(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), error, sizeof error));
  if (!handle) {
    out.problems.push_back(std::string("kafka: cannot create a client: ") + error);
    return out;
  }
  conf.release();  // owned by the handle now

  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t code = rd_kafka_metadata(handle.get(), 1, nullptr, &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> metadata(raw);
  const std::string& servers = config.kafka.properties.contains("bootstrap.servers")
                                   ? config.kafka.properties.at("bootstrap.servers")
                                   : std::string("(unset)");
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_poll(handle.get(), 0);  // serves the error callback
    std::string detail;
    {
      std::lock_guard lock(last.mutex);
      detail = last.message;
    }
    out.problems.push_back("kafka.bootstrap.servers: cannot reach the Kafka brokers at " + servers + " within " +
                           std::to_string(timeout.count()) + " ms: " + rd_kafka_err2str(code) +
                           (detail.empty() ? "" : " (" + detail + ")"));
    return out;
  }

  std::set<std::string> topics;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& topic = metadata->topics[i];
    if (topic.err == RD_KAFKA_RESP_ERR_NO_ERROR) topics.insert(topic.topic);
  }
  for (const std::string& topic : config.kafka.topics) {
    if (!topics.contains(topic)) out.problems.push_back("topics: topic '" + topic + "' does not exist");
  }
  if (!config.kafka.topics_regex.empty()) {
    // librdkafka matches the pattern itself (its own regex dialect); do not guess here.
    out.notes.push_back("topics.regex: the cluster has " + std::to_string(topics.size()) +
                        " topic(s); sluice consumes those matching '" + config.kafka.topics_regex + "'");
  }
  if (!config.errors.dlq_topic.empty() && !topics.contains(config.errors.dlq_topic)) {
    out.problems.push_back("errors.deadletterqueue.topic.name: topic '" + config.errors.dlq_topic +
                           "' does not exist");
  }
  return out;
}

}  // namespace sluice::kafka
