// What the API reads from a request line before any handler: the path
// (percent-decoded, matched against every route pattern), the query string
// (api::parseQuery, api::parseReportQuery) and cursors (api::decodeCursor).
// Never throws; a decoded cursor encodes back to itself; every error body,
// which quotes the input, is valid UTF-8 JSON.
#include "api/http_types.h"
#include "api/report_query.h"
#include "api/router.h"
#include "bench/fuzz/fuzz_support.h"

using namespace safestream;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const char* kPatterns[] = {"/v1/reports/{id}", "/v1/subscriptions/{id}", "/v1/subscriptions/{id}/alerts",
                                    "/v1/subscriptions/{id}/live", "/open311/v2/services/{code}.json",
                                    "/open311/v2/requests/{id}.json", "/v1/cities/{id}/boundaries"};
  const auto in = fuzz::text(data, size);
  const auto q = in.find('?');
  const auto rawPath = in.substr(0, q);
  const auto query = q == std::string_view::npos ? std::string_view() : in.substr(q + 1);

  std::string path;
  if (!api::percentDecode(rawPath, path, false)) path = std::string(rawPath);
  for (const char* pattern : kPatterns) {
    std::map<std::string, std::string> params;
    if (api::matchPattern(pattern, path, params)) {
      for (const auto& [k, v] : params) fuzz::requireJson(api::errorResponse(404, "not_found", "no report " + v, k).body, "404 body");
    }
  }
  fuzz::requireJson(api::errorResponse(404, "not_found", "no route for " + path).body, "404 body");

  std::map<std::string, std::string> params;
  std::string bad;
  if (!api::parseQuery(query, params, bad)) {
    fuzz::requireJson(api::errorResponse(400, "invalid_parameter", "malformed query: " + bad).body, "400 body");
    return 0;
  }
  auto parsed = api::parseReportQuery(params);
  if (!parsed) {
    fuzz::requireJson(api::errorResponse(400, parsed.error().code, parsed.error().message, parsed.error().field).body,
                      "400 body");
  } else if (parsed->cursor) {
    fuzz::require(api::decodeCursor(api::encodeCursor(*parsed->cursor)).has_value(), "an encoded cursor does not decode");
  }
  if (auto c = api::decodeCursor(in)) {
    const auto again = api::decodeCursor(api::encodeCursor(*c));
    fuzz::require(again && again->id == c->id && again->occurredAt == c->occurredAt, "cursor round trip", in);
  }
  return 0;
}
