#pragma once
// Many WebSocket clients in one thread, on epoll and non-blocking sockets,
// without Beast: the load generator of bench/api/ws_fanout.sh and the client
// swarm of the two-instance integration test. A client costs a socket and a
// few hundred bytes here, so tens of thousands fit in one process and the
// generator is not what the benchmark measures.
//
// It speaks just enough RFC 6455 for the API's live feeds: the upgrade, the
// server's unmasked text/ping/close frames, masked pongs and a masked close.
// Source addresses: client i binds 127.0.0.(sourceBase + i / perAddress)
// with IP_BIND_ADDRESS_NO_PORT, so the kernel picks the port per 4-tuple and
// 50,000 connections never exhaust one address's ephemeral ports.
//
// Threading: everything runs in the thread calling run(); stop() may be
// called from any thread (it is an atomic flag).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace safestream::testing {

class WsSwarm {
 public:
  using Clock = std::chrono::steady_clock;
  struct Client {
    std::vector<int> ports;   // tried in turn on each reconnect (index `portIndex`)
    std::string target;       // "/v1/live?city=x" (no after=; added on a resume)
    std::string lastCursor;   // of the last frame received, for resumes
    std::size_t portIndex = 0;
    int fd = -1;
    int state = 0;            // internal
    int closeCode = 0;        // last close frame's code (0: none)
    int reconnects = 0;
    unsigned generation = 0;  // internal: tells a stale epoll event from the current socket
    std::string in;           // bytes received and not yet consumed
    std::string out;          // bytes waiting to be sent
  };
  struct Options {
    int sourceBase = 2;                 // first source address 127.0.0.<sourceBase>
    int perAddress = 20000;             // clients per source address
    int maxConnecting = 256;            // handshakes in flight at once
    bool reconnect = false;             // after a close or a drop, connect to the next port and resume
    std::chrono::milliseconds reconnectDelay{100};
  };
  // (client index, text frame, arrival time)
  using OnFrame = std::function<void(std::size_t, std::string_view, Clock::time_point)>;

  WsSwarm(std::vector<Client> clients, Options options, OnFrame onFrame);
  ~WsSwarm();
  WsSwarm(const WsSwarm&) = delete;
  WsSwarm& operator=(const WsSwarm&) = delete;

  // Runs the event loop until stop() or `until` passes.
  void run(Clock::time_point until);
  void stop() { stop_ = true; }
  bool stopped() const { return stop_; }

  std::size_t open() const { return open_.load(); }           // upgraded and not closed
  std::size_t everOpened() const { return everOpened_.load(); }
  std::size_t failures() const { return failures_.load(); }   // connects or upgrades refused
  // When the last of the first round of connections was upgraded (or epoch).
  Clock::time_point allOpenAt() const { return allOpenAt_; }
  Clock::time_point startedAt() const { return startedAt_; }
  const Client& client(std::size_t i) const { return clients_[i]; }
  std::size_t size() const { return clients_.size(); }

 private:
  void startConnect(std::size_t i);
  void onReadable(std::size_t i, Clock::time_point now);
  void onWritable(std::size_t i);
  void flush(std::size_t i);
  void drop(std::size_t i);
  bool parseFrames(std::size_t i, Clock::time_point now);
  void sendFrame(std::size_t i, int opcode, std::string_view payload);

  std::vector<Client> clients_;
  Options options_;
  OnFrame onFrame_;
  int epoll_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> open_{0}, everOpened_{0}, failures_{0};
  std::size_t connecting_ = 0;
  std::size_t nextToStart_ = 0;
  std::vector<std::pair<Clock::time_point, std::size_t>> retries_;
  Clock::time_point startedAt_{}, allOpenAt_{};
};

}  // namespace safestream::testing
