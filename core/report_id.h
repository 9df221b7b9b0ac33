#pragma once
#include <string_view>

#include "core/report.h"

namespace safestream::core {

// UUIDv5 (RFC 4122, SHA-1) of "source\x1Fsource_id" in SafeStream's namespace.
// Deterministic: the same pair always yields the same id.
ReportId reportIdFor(std::string_view source, std::string_view sourceId);

// Random UUIDv4 (for citizen reports, subscriptions, idempotency keys).
std::string randomUuid();

bool isUuid(std::string_view text);

}  // namespace safestream::core
