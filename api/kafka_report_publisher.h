#pragma once
// ReportPublisher on core::KafkaProducer (idempotent, acks=all): the
// callback runs on the producer's delivery thread once the broker has the
// report, so the HTTP 202 is never sent for a report Kafka does not hold.
#include <chrono>
#include <string>

#include "api/ports.h"
#include "core/kafka.h"

namespace safestream::api {

class KafkaReportPublisher final : public ReportPublisher {
 public:
  KafkaReportPublisher(core::KafkaProducer& producer, std::string topic);
  void publish(const core::Report& report, std::function<void(core::Status)> done) override;

 private:
  core::KafkaProducer& producer_;
  std::string topic_;
};

}  // namespace safestream::api
