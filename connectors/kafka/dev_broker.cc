#include "dev_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <vector>

namespace sluice::kafka {

void DevBroker::KafkaHandleDeleter::operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }

Result<std::unique_ptr<DevBroker>> DevBroker::start(int broker_count) {
  if (broker_count < 1) return Error::fatal("bad_argument", "broker count must be at least 1");
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the mock cluster; keep it quiet.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (raw == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Error::fatal("mock_cluster", std::string("cannot create librdkafka handle: ") + errstr);
  }
  std::unique_ptr<DevBroker> broker(new DevBroker());
  broker->handle_.reset(raw);
  broker->cluster_ = rd_kafka_mock_cluster_new(raw, broker_count);
  if (broker->cluster_ == nullptr) return Error::fatal("mock_cluster", "cannot create the mock cluster");
  return broker;
}

DevBroker::~DevBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

std::string DevBroker::bootstrap_servers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

Status DevBroker::create_topic(const std::string& topic, int partitions) {
  if (topic.empty() || partitions < 1) return Error::fatal("bad_argument", "topic needs a name and >= 1 partition");
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error::fatal("mock_cluster", "cannot create topic " + topic + ": " + rd_kafka_err2str(err));
  }
  return {};
}

Status DevBroker::set_broker_down(int32_t broker_id, bool down) {
  rd_kafka_resp_err_t err = down ? rd_kafka_mock_broker_set_down(cluster_, broker_id)
                                 : rd_kafka_mock_broker_set_up(cluster_, broker_id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error::fatal("mock_cluster", "broker " + std::to_string(broker_id) + ": " + rd_kafka_err2str(err));
  }
  return {};
}

void DevBroker::push_request_errors(int16_t api_key, int error_code, int count) {
  if (count <= 0) return;
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count), static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(), errors.data());
}

void DevBroker::clear_request_errors(int16_t api_key) { rd_kafka_mock_clear_request_errors(cluster_, api_key); }

void DevBroker::set_topic_error(const std::string& topic, int error_code) {
  rd_kafka_mock_topic_set_error(cluster_, topic.c_str(), static_cast<rd_kafka_resp_err_t>(error_code));
}

}  // namespace sluice::kafka
