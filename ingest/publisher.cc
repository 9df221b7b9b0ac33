#include "ingest/publisher.h"

#include <map>

#include "core/log.h"
#include "core/report_codec.h"

namespace safestream::ingest {

Publisher::Publisher(core::MessageSink& sink, std::string topic, IngestMetrics* metrics,
                     std::chrono::milliseconds ackTimeout, std::size_t chunk)
    : sink_(sink), topic_(std::move(topic)), metrics_(metrics), ackTimeout_(ackTimeout), chunk_(chunk) {}

PublishOutcome Publisher::publish(const std::string& source, std::vector<core::Report>& reports) {
  PublishOutcome out;
  const core::Timestamp now = core::nowUtc();
  std::vector<core::OutMessage> batch;
  std::vector<std::size_t> indexes;
  auto flush = [&] {
    if (batch.empty()) return;
    auto results = sink_.sendAndWait(batch, ackTimeout_);
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i].ok) {
        ++out.published;
        out.publishedIndexes.push_back(indexes[i]);
      } else {
        ++out.failed;
        if (out.firstError.empty()) out.firstError = results[i].error;
      }
    }
    batch.clear();
    indexes.clear();
  };
  for (std::size_t i = 0; i < reports.size(); ++i) {
    core::Report& r = reports[i];
    r.ingestedAt = now;
    std::string value = core::encodeReport(r);
    // The shared codec is the contract: what it would refuse downstream is
    // refused here, with the reason, instead of going to the DLQ later.
    if (auto back = core::decodeReport(value); !back) {
      out.rejections.push_back({"invalid_report", "record " + r.sourceId + ": " + back.error().message, r.sourceId});
      continue;
    }
    batch.push_back({topic_, r.id.value, std::move(value), {{"source", r.source}}});
    indexes.push_back(i);
    if (batch.size() >= chunk_) flush();
  }
  flush();
  if (metrics_) {
    metrics_->published(source, static_cast<double>(out.published));
    if (out.failed) metrics_->deliveryErrors(source, static_cast<double>(out.failed));
  }
  if (out.published || out.failed) {
    std::lock_guard<std::mutex> lock(mu_);
    lastError_ = out.failed ? out.firstError : "";
  }
  if (out.failed) {
    core::log::warn("delivery_failed", {{"source", source},
                                        {"failed", out.failed},
                                        {"published", out.published},
                                        {"error", out.firstError}});
  }
  return out;
}

std::string Publisher::lastDeliveryError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lastError_;
}

void reportRejections(const std::string& source, const std::vector<Rejection>& rejections,
                      IngestMetrics* metrics, std::size_t maxLogged) {
  std::map<std::string, std::size_t> byReason;
  for (std::size_t i = 0; i < rejections.size(); ++i) {
    const auto& r = rejections[i];
    ++byReason[r.reason];
    if (metrics) metrics->rejected(source, r.reason);
    if (i < maxLogged) {
      core::log::warn("record_rejected", {{"source", source}, {"reason", r.reason}, {"source_id", r.sourceId},
                                          {"message", r.message}});
    }
  }
  if (rejections.size() > maxLogged) {
    std::string summary;
    for (const auto& [reason, n] : byReason) summary += (summary.empty() ? "" : ", ") + reason + "=" + std::to_string(n);
    core::log::warn("records_rejected", {{"source", source}, {"count", rejections.size()}, {"by_reason", summary}});
  }
}

}  // namespace safestream::ingest
