#include "processor/dead_letter.h"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include "core/utf8.h"

namespace safestream::processor {
namespace {

std::string base64(std::string_view in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < in.size() ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string sha256Hex(std::string_view in) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : md) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace

std::string dlqReason(const core::Error& e) { return e.field.empty() ? e.code : e.code + ":" + e.field; }

core::OutMessage makeDeadLetter(const core::InMessage& m, const core::Error& error, core::Timestamp now,
                                const std::string& dlqTopic) {
  nlohmann::json j;
  std::string_view original = m.value;
  const bool truncated = original.size() > kMaxDlqOriginalBytes;
  if (truncated) original = original.substr(0, kMaxDlqOriginalBytes);
  // A cut may split a UTF-8 sequence, so validity is judged on what is kept.
  if (core::isValidUtf8(original)) {
    j["original"] = std::string(original);
    j["original_encoding"] = "utf-8";
  } else {
    j["original"] = base64(original);
    j["original_encoding"] = "base64";
  }
  j["original_size"] = m.value.size();
  j["original_sha256"] = sha256Hex(m.value);
  j["truncated"] = truncated;
  j["original_key"] = core::isValidUtf8(m.key) ? m.key : base64(m.key);
  j["source"] = {{"topic", m.topic}, {"partition", m.partition}, {"offset", m.offset}};
  if (m.timestampMs) j["source"]["timestamp_ms"] = *m.timestampMs;
  j["error"] = {{"code", error.code}, {"field", error.field}, {"message", error.message}};
  j["failed_at"] = core::formatTimestamp(now);
  j["schema"] = "dlq.v1";
  // Keyed like the original, so a DLQ consumer sees one source partition's
  // failures in order.
  return core::OutMessage{dlqTopic, m.key, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                          {{"safestream-error", error.code}}};
}

core::Status DeadLetterSink::write(const SinkBatch& batch) {
  BatchPtr one(std::shared_ptr<const SinkBatch>(), &batch);  // non-owning: lives for this call
  return writeAll(std::span<const BatchPtr>(&one, 1));
}

core::Status DeadLetterSink::writeAll(std::span<const BatchPtr> batches) {
  std::vector<core::OutMessage> out;
  for (const auto& b : batches) out.insert(out.end(), b->deadLetters.begin(), b->deadLetters.end());
  if (out.empty()) return core::okStatus();
  for (const auto& r : producer_.sendAndWait(out, timeout_)) {
    if (!r.ok) return core::makeError("dlq_failed", "reports.dlq: " + r.error, "", r.retriable);
  }
  return core::okStatus();
}

}  // namespace safestream::processor
