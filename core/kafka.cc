#include "core/kafka.h"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/log.h"

namespace safestream::core {
namespace {

// Routes librdkafka's own logs and errors into our JSON log lines.
class EventLogger final : public RdKafka::EventCb {
 public:
  explicit EventLogger(std::string role) : role_(std::move(role)) {}
  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        log::warn("kafka_error", {{"role", role_},
                                  {"error", RdKafka::err2str(event.err())},
                                  {"message", event.str()},
                                  {"fatal", event.fatal()}});
        break;
      case RdKafka::Event::EVENT_LOG:
        if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
          log::warn("kafka_log", {{"role", role_}, {"facility", event.fac()}, {"message", event.str()}});
        }
        break;
      default:
        break;
    }
  }

 private:
  std::string role_;
};

std::unique_ptr<RdKafka::Conf> makeConf(const KafkaSettings& s, RdKafka::EventCb* events) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  auto set = [&](const std::string& k, const std::string& v) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      throw ConfigError("invalid Kafka setting " + k + "=" + v + ": " + err);
    }
  };
  if (s.bootstrap.empty()) throw ConfigError("Kafka bootstrap servers are not set (SAFESTREAM_KAFKA_BOOTSTRAP)");
  set("bootstrap.servers", s.bootstrap);
  set("socket.timeout.ms", "10000");
  // Latency: small requests (an alert's report, a commit) leave at once
  // instead of waiting for Nagle's algorithm to gather more.
  set("socket.nagle.disable", "true");
  for (const auto& [k, v] : s.extra) set(k, v);
  if (events && conf->set("event_cb", events, err) != RdKafka::Conf::CONF_OK) throw ConfigError(err);
  return conf;
}

bool isRetriable(RdKafka::ErrorCode e) {
  switch (e) {
    case RdKafka::ERR__MSG_TIMED_OUT:
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__QUEUE_FULL:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_LEADER_FOR_PARTITION:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
    case RdKafka::ERR_NETWORK_EXCEPTION:
    case RdKafka::ERR_COORDINATOR_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_COORDINATOR:
    case RdKafka::ERR_REBALANCE_IN_PROGRESS:
      return true;
    default:
      return false;
  }
}

}  // namespace

// ---------------------------------------------------------------- producer ---

struct KafkaProducer::Impl final : public RdKafka::DeliveryReportCb {
  EventLogger events{"producer"};
  std::unique_ptr<RdKafka::Producer> producer;
  std::atomic<bool> running{true};
  std::thread poller;  // serves delivery callbacks; must stop before producer is destroyed

  void dr_cb(RdKafka::Message& m) override {
    auto* cb = static_cast<Callback*>(m.msg_opaque());
    if (!cb) return;
    DeliveryResult r;
    r.ok = m.err() == RdKafka::ERR_NO_ERROR;
    if (!r.ok) {
      r.error = RdKafka::err2str(m.err());
      r.retriable = isRetriable(m.err());
    }
    r.partition = m.partition();
    r.offset = m.offset();
    try {
      (*cb)(r);
    } catch (const std::exception& e) {
      log::error("delivery_callback_threw", {{"message", std::string(e.what())}});
    }
    delete cb;
  }
};

KafkaProducer::KafkaProducer(const KafkaSettings& settings, const ProducerOptions& options)
    : impl_(std::make_unique<Impl>()) {
  auto conf = makeConf(settings, &impl_->events);
  std::string err;
  auto set = [&](const std::string& k, const std::string& v) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw ConfigError("invalid Kafka setting " + k + ": " + err);
  };
  set("client.id", options.clientId);
  set("enable.idempotence", options.idempotent ? "true" : "false");
  set("acks", "all");
  set("compression.codec", options.compression);
  set("linger.ms", std::to_string(options.lingerMs));
  // A default only: a caller's own message.timeout.ms (the API's
  // --publish-timeout-ms) was applied by makeConf and must stay in force.
  if (!settings.extra.count("message.timeout.ms")) set("message.timeout.ms", "30000");
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(impl_.get()), err) != RdKafka::Conf::CONF_OK) {
    throw ConfigError(err);
  }
  impl_->producer.reset(RdKafka::Producer::create(conf.get(), err));
  if (!impl_->producer) throw ConfigError("cannot create Kafka producer: " + err);
  impl_->poller = std::thread([impl = impl_.get()] {
    while (impl->running.load()) impl->producer->poll(100);
  });
}

KafkaProducer::~KafkaProducer() {
  if (!flush(std::chrono::seconds(10))) {
    log::warn("producer_flush_timeout", {{"queued", queueLength()}});
    impl_->producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  }
  impl_->running.store(false);
  impl_->poller.join();
  impl_->producer->poll(0);  // run callbacks of purged messages
}

Status KafkaProducer::send(const OutMessage& m, Callback cb) {
  RdKafka::Headers* headers = nullptr;
  if (!m.headers.empty()) {
    headers = RdKafka::Headers::create();
    for (const auto& [k, v] : m.headers) headers->add(k, v);
  }
  auto* opaque = new Callback(std::move(cb));
  RdKafka::ErrorCode e = impl_->producer->produce(
      m.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
      const_cast<char*>(m.value.data()), m.value.size(), m.key.data(), m.key.size(), 0, headers, opaque);
  if (e != RdKafka::ERR_NO_ERROR) {
    delete headers;  // produce() took ownership only on success
    delete opaque;
    return makeError("produce_failed", "cannot queue message for " + m.topic + ": " + RdKafka::err2str(e), "",
                     isRetriable(e));
  }
  return okStatus();
}

Status KafkaProducer::prepareTopics(const std::vector<std::string>& topics, std::chrono::milliseconds timeout) {
  for (const auto& name : topics) {
    std::string err;
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(impl_->producer.get(), name, nullptr, err));
    if (!topic) return makeError("kafka_config", "topic " + name + ": " + err);
    RdKafka::Metadata* md = nullptr;
    const auto e = impl_->producer->metadata(false, topic.get(), &md, static_cast<int>(timeout.count()));
    std::unique_ptr<RdKafka::Metadata> holder(md);
    if (e != RdKafka::ERR_NO_ERROR) {
      return makeError("kafka_unreachable", "no metadata for topic " + name + ": " + RdKafka::err2str(e), "", true);
    }
    for (const auto* t : *md->topics()) {
      if (t->topic() == name && t->err() != RdKafka::ERR_NO_ERROR) {
        return makeError("kafka_topic", "topic " + name + ": " + RdKafka::err2str(t->err()), "", true);
      }
    }
  }
  return okStatus();
}

std::vector<DeliveryResult> KafkaProducer::sendAndWait(const std::vector<OutMessage>& batch,
                                                       std::chrono::milliseconds timeout) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::size_t remaining = 0;
    std::vector<DeliveryResult> results;
  };
  auto state = std::make_shared<State>();
  state->results.resize(batch.size());
  state->remaining = batch.size();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Status s = send(batch[i], [state, i](const DeliveryResult& r) {
      std::lock_guard<std::mutex> lock(state->mu);
      state->results[i] = r;
      if (--state->remaining == 0) state->cv.notify_all();
    });
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(state->mu);
      state->results[i] = DeliveryResult{false, s.error().message, s.error().retriable, -1, -1};
      if (--state->remaining == 0) state->cv.notify_all();
    }
  }
  std::unique_lock<std::mutex> lock(state->mu);
  if (!state->cv.wait_for(lock, timeout, [&] { return state->remaining == 0; })) {
    for (auto& r : state->results) {
      if (!r.ok && r.error.empty()) r = DeliveryResult{false, "no delivery report within timeout", true, -1, -1};
    }
  }
  return state->results;
}

bool KafkaProducer::flush(std::chrono::milliseconds timeout) {
  return impl_->producer->flush(static_cast<int>(timeout.count())) == RdKafka::ERR_NO_ERROR;
}

int KafkaProducer::queueLength() const { return impl_->producer->outq_len(); }

Result<std::string> KafkaProducer::clusterId(std::chrono::milliseconds timeout) {
  std::string id = impl_->producer->clusterid(static_cast<int>(timeout.count()));
  if (id.empty()) return makeError("kafka_unreachable", "the Kafka cluster id did not arrive in time", "", true);
  return id;
}

// ---------------------------------------------------------------- consumer ---

struct KafkaConsumer::Impl final : public RdKafka::RebalanceCb {
  EventLogger events{"consumer"};
  RebalanceListener* listener = nullptr;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  bool closed = false;

  static std::vector<TopicPartition> toDomain(const std::vector<RdKafka::TopicPartition*>& parts) {
    std::vector<TopicPartition> out;
    out.reserve(parts.size());
    for (auto* p : parts) out.push_back({p->topic(), p->partition()});
    return out;
  }

  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      c->assign(partitions);
      log::info("partitions_assigned", {{"count", partitions.size()}});
      if (listener) listener->onPartitionsAssigned(toDomain(partitions));
    } else {
      // Revoked (or error): the owner flushes and commits before we let go.
      if (listener) listener->onPartitionsRevoked(toDomain(partitions));
      c->unassign();
      log::info("partitions_revoked", {{"count", partitions.size()}});
    }
  }

  std::vector<RdKafka::TopicPartition*> current() const {
    std::vector<RdKafka::TopicPartition*> parts;
    consumer->assignment(parts);
    return parts;
  }
};

namespace {
struct PartitionList {
  std::vector<RdKafka::TopicPartition*> v;
  ~PartitionList() { RdKafka::TopicPartition::destroy(v); }
};
}  // namespace

KafkaConsumer::KafkaConsumer(const KafkaSettings& settings, const ConsumerOptions& options,
                             RebalanceListener* listener)
    : impl_(std::make_unique<Impl>()) {
  impl_->listener = listener;
  auto conf = makeConf(settings, &impl_->events);
  std::string err;
  auto set = [&](const std::string& k, const std::string& v) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw ConfigError("invalid Kafka setting " + k + ": " + err);
  };
  if (options.groupId.empty()) throw ConfigError("Kafka consumer group id is empty");
  set("group.id", options.groupId);
  set("client.id", options.clientId);
  set("enable.auto.commit", "false");
  set("enable.auto.offset.store", "false");
  set("auto.offset.reset", options.autoOffsetReset);
  set("session.timeout.ms", std::to_string(options.sessionTimeoutMs));
  set("max.poll.interval.ms", std::to_string(options.maxPollIntervalMs));
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(impl_.get()), err) != RdKafka::Conf::CONF_OK) {
    throw ConfigError(err);
  }
  impl_->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!impl_->consumer) throw ConfigError("cannot create Kafka consumer: " + err);
  if (auto e = impl_->consumer->subscribe(options.topics); e != RdKafka::ERR_NO_ERROR) {
    throw ConfigError("cannot subscribe to topics: " + RdKafka::err2str(e));
  }
}

KafkaConsumer::~KafkaConsumer() { close(); }

void KafkaConsumer::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->consumer->close();
}

std::vector<InMessage> KafkaConsumer::poll(std::size_t max, std::chrono::milliseconds timeout) {
  std::vector<InMessage> out;
  int wait = static_cast<int>(timeout.count());
  while (out.size() < max) {
    std::unique_ptr<RdKafka::Message> m(impl_->consumer->consume(wait));
    wait = 0;  // only the first message may wait
    if (m->err() == RdKafka::ERR__TIMED_OUT) break;
    if (m->err() == RdKafka::ERR__PARTITION_EOF) continue;
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      log::warn("consume_error", {{"error", m->errstr()}});
      break;
    }
    InMessage in;
    in.topic = m->topic_name();
    in.partition = m->partition();
    in.offset = m->offset();
    if (m->key()) in.key = *m->key();
    if (m->payload()) in.value.assign(static_cast<const char*>(m->payload()), m->len());
    auto ts = m->timestamp();
    if (ts.type != RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) in.timestampMs = ts.timestamp;
    if (RdKafka::Headers* h = m->headers()) {
      for (const auto& hdr : h->get_all()) {
        in.headers.emplace_back(hdr.key(), hdr.value() ? std::string(static_cast<const char*>(hdr.value()),
                                                                     hdr.value_size())
                                                       : std::string());
      }
    }
    out.push_back(std::move(in));
  }
  return out;
}

Status KafkaConsumer::commit(const OffsetMap& offsets) {
  if (offsets.empty()) return okStatus();
  PartitionList parts;
  for (const auto& [tp, off] : offsets) parts.v.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition, off));
  RdKafka::ErrorCode e = impl_->consumer->commitSync(parts.v);
  if (e == RdKafka::ERR_NO_ERROR) {
    for (auto* p : parts.v) {
      if (p->err() != RdKafka::ERR_NO_ERROR) { e = p->err(); break; }
    }
  }
  if (e != RdKafka::ERR_NO_ERROR) {
    return makeError("commit_failed", "offset commit failed: " + RdKafka::err2str(e), "", isRetriable(e));
  }
  return okStatus();
}

Result<OffsetMap> KafkaConsumer::committed(const std::vector<TopicPartition>& partitions,
                                           std::chrono::milliseconds timeout) {
  PartitionList parts;
  for (const auto& tp : partitions) parts.v.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition));
  RdKafka::ErrorCode e = impl_->consumer->committed(parts.v, static_cast<int>(timeout.count()));
  if (e != RdKafka::ERR_NO_ERROR) return makeError("committed_failed", RdKafka::err2str(e), "", isRetriable(e));
  OffsetMap out;
  for (auto* p : parts.v) out[{p->topic(), p->partition()}] = p->offset() < 0 ? -1 : p->offset();
  return out;
}

Status KafkaConsumer::seek(const OffsetMap& offsets) {
  for (const auto& [tp, off] : offsets) {
    std::unique_ptr<RdKafka::TopicPartition> p(RdKafka::TopicPartition::create(tp.topic, tp.partition, off));
    if (auto e = impl_->consumer->seek(*p, 5000); e != RdKafka::ERR_NO_ERROR) {
      return makeError("seek_failed", "seek " + tp.topic + "/" + std::to_string(tp.partition) + ": " +
                                          RdKafka::err2str(e), "", true);
    }
  }
  return okStatus();
}

Status KafkaConsumer::pause() {
  PartitionList parts{impl_->current()};
  if (auto e = impl_->consumer->pause(parts.v); e != RdKafka::ERR_NO_ERROR) {
    return makeError("pause_failed", RdKafka::err2str(e));
  }
  return okStatus();
}

Status KafkaConsumer::resume() {
  PartitionList parts{impl_->current()};
  if (auto e = impl_->consumer->resume(parts.v); e != RdKafka::ERR_NO_ERROR) {
    return makeError("resume_failed", RdKafka::err2str(e));
  }
  return okStatus();
}

std::vector<TopicPartition> KafkaConsumer::assignment() const {
  PartitionList parts{impl_->current()};
  return Impl::toDomain(parts.v);
}

std::map<TopicPartition, std::int64_t> KafkaConsumer::lag() const {
  std::map<TopicPartition, std::int64_t> out;
  PartitionList parts{impl_->current()};
  impl_->consumer->position(parts.v);
  for (auto* p : parts.v) {
    int64_t low = 0, high = 0;
    if (impl_->consumer->get_watermark_offsets(p->topic(), p->partition(), &low, &high) != RdKafka::ERR_NO_ERROR) {
      continue;
    }
    const int64_t pos = p->offset() >= 0 ? p->offset() : low;
    out[{p->topic(), p->partition()}] = high > pos ? high - pos : 0;
  }
  return out;
}

Status checkKafka(const KafkaSettings& settings, std::chrono::milliseconds timeout) {
  EventLogger events("probe");
  std::unique_ptr<RdKafka::Conf> conf;
  try {
    conf = makeConf(settings, &events);
  } catch (const ConfigError& e) {
    return makeError("kafka_config", e.what());
  }
  std::string err;
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  if (!p) return makeError("kafka_config", err);
  RdKafka::Metadata* md = nullptr;
  auto e = p->metadata(true, nullptr, &md, static_cast<int>(timeout.count()));
  std::unique_ptr<RdKafka::Metadata> holder(md);
  if (e != RdKafka::ERR_NO_ERROR) {
    return makeError("kafka_unreachable", "Kafka at " + settings.bootstrap + " did not answer: " +
                                              RdKafka::err2str(e), "", true);
  }
  return okStatus();
}

}  // namespace safestream::core
