#pragma once
// The one rule that decides what the processor commits on reports.raw.
//
//   commit(partition) = min over every lane of durable(lane, partition)
//
// `durable` is the next offset a lane still has to make durable (everything
// before it is in PostgreSQL / S3 / Redis / Kafka). A partition that some
// lane has made nothing durable for yet is not committed at all. Lanes never
// wait for each other; the slowest one holds the commit, nothing else.
#include <algorithm>
#include <vector>

#include "core/kafka.h"

namespace safestream::processor {

inline core::OffsetMap committable(const std::vector<core::OffsetMap>& durablePerLane) {
  if (durablePerLane.empty()) return {};
  core::OffsetMap out = durablePerLane.front();
  for (std::size_t i = 1; i < durablePerLane.size(); ++i) {
    const core::OffsetMap& lane = durablePerLane[i];
    for (auto it = out.begin(); it != out.end();) {
      auto d = lane.find(it->first);
      if (d == lane.end()) {
        it = out.erase(it);  // this lane has nothing durable here yet
        continue;
      }
      it->second = std::min(it->second, d->second);
      ++it;
    }
  }
  return out;
}

}  // namespace safestream::processor
