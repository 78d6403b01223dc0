#include "dev_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <set>
#include <string_view>
#include <vector>

namespace sluice::kafka {
namespace {

// The ports of "127.0.0.1:port,127.0.0.1:port".
std::set<int> ports_of(std::string_view bootstrap) {
  std::set<int> ports;
  while (!bootstrap.empty()) {
    size_t comma = bootstrap.find(',');
    std::string_view address = bootstrap.substr(0, comma);
    if (size_t colon = address.rfind(':'); colon != std::string_view::npos) {
      ports.insert(std::atoi(std::string(address.substr(colon + 1)).c_str()));
    }
    bootstrap = comma == std::string_view::npos ? std::string_view() : bootstrap.substr(comma + 1);
  }
  return ports;
}

// The mock cluster leaves Nagle's algorithm on for its connections, where
// Kafka brokers turn it off. With several small requests in flight (a
// producer writing to several partitions) each response after the first then
// waits for the client's delayed ACK, about 40 ms: a dead-letter flush of a
// few records took 45 ms instead of 2. Connections accepted by a listening
// socket inherit TCP_NODELAY, so setting it on the cluster's listeners is enough.
void disable_nagle_on_listeners(const std::set<int>& ports) {
  DIR* fds = ::opendir("/proc/self/fd");
  if (fds == nullptr) return;
  while (const dirent* entry = ::readdir(fds)) {
    int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == ::dirfd(fds)) continue;
    int listening = 0;
    socklen_t length = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || listening == 0) continue;
    sockaddr_storage address{};
    length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 || address.ss_family != AF_INET) continue;
    if (!ports.contains(ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port))) continue;
    int on = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  ::closedir(fds);
}

}  // namespace

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
  disable_nagle_on_listeners(ports_of(broker->bootstrap_servers()));
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
