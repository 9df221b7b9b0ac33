#pragma once
// The alerting tests' reader of a Redis stream the alert sink wrote (a
// subscription's alerts or a broadcast feed): the JSON of each entry's
// "alert" field, oldest first.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/redis_client.h"

namespace safestream::testing {

inline std::vector<nlohmann::json> streamEntries(core::RedisClient& redis, const std::string& stream) {
  auto reply = redis.command({"XRANGE", stream, "-", "+"});
  EXPECT_TRUE(reply.ok()) << reply.error().message;
  std::vector<nlohmann::json> out;
  if (!reply.ok()) return out;
  for (const auto& entry : reply->elements) {
    const auto& fields = entry.elements.at(1).elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str == "alert") out.push_back(nlohmann::json::parse(fields[i + 1].str));
    }
  }
  return out;
}

}  // namespace safestream::testing
