#pragma once
// JSON encode/decode of report messages (schemas/report.v1.json).
// Decoding validates and names the offending field; it never throws on input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/report.h"
#include "core/result.h"

namespace safestream::core {

struct DecodeOptions {
  std::size_t maxBytes = 1 << 20;                            // whole message
  std::chrono::milliseconds maxFuture = std::chrono::hours(24);  // clock skew allowed
  Timestamp now{};  // zero: use the system clock
};

// A report's `source`: ^[a-z][a-z0-9_.:-]{0,63}$ ("chicago", "csv:new-york",
// "rapidapi:crimedata"), as decodeReport requires and the API's `source=`
// filters accept.
bool isSourceName(std::string_view s);

Result<Report> decodeReport(std::string_view json, const DecodeOptions& options = {});

// Encodes every present field. `includePrivate` = false drops `contact`
// (and the raw source record) for anything leaving the private store.
std::string encodeReport(const Report& report, bool includePrivate = true);

// S2 cell id <-> token (hex without trailing zeros; "X" for the invalid id 0),
// the same text libs2's S2CellId::ToToken() gives.
std::string cellToken(std::uint64_t cellId);
std::uint64_t cellFromToken(std::string_view token);  // 0 if not a token

}  // namespace safestream::core
