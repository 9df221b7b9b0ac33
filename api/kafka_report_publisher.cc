#include "api/kafka_report_publisher.h"

#include "core/report_codec.h"

namespace safestream::api {

KafkaReportPublisher::KafkaReportPublisher(core::KafkaProducer& producer, std::string topic)
    : producer_(producer), topic_(std::move(topic)) {}

void KafkaReportPublisher::publish(const core::Report& report, std::function<void(core::Status)> done) {
  // contact travels to the processor, which stores it in the private column only.
  core::OutMessage m{topic_, report.id.value, core::encodeReport(report, /*includePrivate=*/true),
                     {{"source", "citizen"}}};
  auto cb = std::make_shared<std::function<void(core::Status)>>(std::move(done));
  auto queued = producer_.send(m, [cb](const core::DeliveryResult& r) {
    if (r.ok) (*cb)(core::okStatus());
    else (*cb)(core::makeError("kafka_delivery", r.error, "", r.retriable));
  });
  // Not queued: the callback will never run, so answer here.
  if (!queued) (*cb)(queued.error());
}

}  // namespace safestream::api
