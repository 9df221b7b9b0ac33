#include "deploy/devbroker/mock_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "core/log.h"
#include "core/result.h"

namespace safestream::devbroker {

// Order matters: the mock cluster must be destroyed before the handle that
// owns its bookkeeping.
struct MockBroker::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Impl() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (rk) rd_kafka_destroy(rk);
  }
};

MockBroker::MockBroker(const BrokerOptions& o) : impl_(std::make_unique<Impl>()) {
  if (o.brokers < 1 || o.partitions < 1) throw core::ConfigError("brokers and partitions must be at least 1");
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle is only the mock cluster's anchor; it never connects.
  if (rd_kafka_conf_set(conf, "bootstrap.servers", "", err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw core::ConfigError(err);
  }
  impl_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!impl_->rk) throw core::ConfigError(std::string("cannot create librdkafka handle: ") + err);
  impl_->cluster = rd_kafka_mock_cluster_new(impl_->rk, o.brokers);
  if (!impl_->cluster) throw core::ConfigError("cannot create the mock Kafka cluster");
  for (const auto& t : o.topics) {
    auto e = rd_kafka_mock_topic_create(impl_->cluster, t.c_str(), o.partitions, std::min(o.brokers, 3));
    if (e) throw core::ConfigError("cannot create topic " + t + ": " + rd_kafka_err2str(e));
  }
  core::log::info("devbroker_started", {{"bootstrap", bootstrap()}, {"brokers", o.brokers},
                                        {"partitions", o.partitions}});
}

MockBroker::~MockBroker() = default;

std::string MockBroker::bootstrap() const { return rd_kafka_mock_cluster_bootstraps(impl_->cluster); }

}  // namespace safestream::devbroker
