#pragma once
#include <string>

namespace safestream::api {

struct ApiConfig {
  std::string kafkaBootstrap;
  std::string pgUrl;
  std::string redisUrl;
  std::string s3Endpoint;
  std::string s3Bucket = "safestream";
  std::string s3Region = "us-east-1";
  std::string s3AccessKey;
  std::string s3SecretKey;
  std::string metricsHost = "127.0.0.1";
  int metricsPort = 59103;
  std::string logLevel = "info";
};

// Parses flags and SAFESTREAM_* variables; exits on --help or a bad flag;
// throws ConfigError on values that do not validate.
ApiConfig parseApiConfig(int argc, char** argv);

}  // namespace safestream::api
