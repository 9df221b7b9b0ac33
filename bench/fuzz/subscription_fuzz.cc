// Subscription requests (core/subscription: POST/PATCH /v1/subscriptions
// bodies with circle, neighbourhood and GeoJSON polygon areas, quiet hours,
// filters): parsing never throws, and what it accepts is valid, renders to
// valid JSON and is accepted back to the same subscription.
#include "bench/fuzz/fuzz_support.h"
#include "core/subscription.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = fuzz::text(data, size);
  if (auto sub = core::parseSubscriptionRequest(in)) {
    fuzz::requireNoNul(in, "a subscription with a NUL byte was accepted");
    fuzz::require(core::validateSubscription(*sub).ok(), "an accepted subscription does not validate", in);
    const std::string out = core::subscriptionToJson(*sub);
    fuzz::requireJson(out, "subscriptionToJson gave invalid JSON");
    auto doc = nlohmann::json::parse(out);
    doc.erase("id");
    auto back = core::parseSubscriptionRequest(doc.dump());
    fuzz::require(back.ok(), "a rendered subscription is not accepted back", out);
    auto backDoc = nlohmann::json::parse(core::subscriptionToJson(*back));
    backDoc.erase("id");
    fuzz::require(backDoc == doc, "the round trip changed the subscription", out);
  }
  // The polygon column and clock times are parsed on their own too.
  if (auto polygon = core::parsePolygonJson(in)) fuzz::requireJson(core::polygonToJson(*polygon), "polygonToJson");
  if (size <= 16) {
    if (auto minute = core::parseClockTime(in, "quiet_hours.start")) {
      fuzz::require(*minute >= 0 && *minute < 24 * 60, "clock time out of range", in);
      fuzz::require(core::parseClockTime(core::formatClockTime(*minute), "x").value() == *minute, "clock round trip", in);
    }
  }
  return 0;
}
