// Pins the classification of librdkafka errors: what is retried, what is
// dead-lettered, what stops the service.
#include "connectors/kafka/error_mapping.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

namespace sluice::kafka {
namespace {

TEST(KafkaErrorMapping, NetworkAndLeadershipTroubleIsTransient) {
  for (rd_kafka_resp_err_t code :
       {RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION}) {
    EXPECT_EQ(classify_kafka_error(code), ErrorClass::kTransient) << rd_kafka_err2name(code);
  }
}

TEST(KafkaErrorMapping, AuthenticationAndFencingAreFatal) {
  for (rd_kafka_resp_err_t code :
       {RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR__SSL, RD_KAFKA_RESP_ERR__FATAL,
        RD_KAFKA_RESP_ERR__FENCED, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_PRODUCER_FENCED, RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
        RD_KAFKA_RESP_ERR_INVALID_CONFIG}) {
    EXPECT_EQ(classify_kafka_error(code), ErrorClass::kFatal) << rd_kafka_err2name(code);
  }
}

TEST(KafkaErrorMapping, OversizedRecordsAreRecordErrors) {
  for (rd_kafka_resp_err_t code : {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE,
                                   RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE}) {
    EXPECT_EQ(classify_kafka_error(code), ErrorClass::kRecord) << rd_kafka_err2name(code);
  }
}

TEST(KafkaErrorMapping, ErrorCarriesNameAndContext) {
  Error error = kafka_error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "producing to sluice.dlq");
  EXPECT_EQ(error.error_class, ErrorClass::kTransient);
  EXPECT_EQ(error.reason, "_ALL_BROKERS_DOWN");
  EXPECT_EQ(error.message.rfind("producing to sluice.dlq: ", 0), 0u) << error.message;
}

}  // namespace
}  // namespace sluice::kafka
