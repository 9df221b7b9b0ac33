#include "tests/integration/api/ws_swarm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace safestream::testing {

namespace {
enum State { kIdle = 0, kConnecting = 1, kUpgrading = 2, kOpen = 3, kClosed = 4 };

std::uint64_t tag(std::size_t i, unsigned generation) { return (static_cast<std::uint64_t>(generation) << 32) | i; }

// The "cursor" value of an alert frame, without a JSON parser.
std::string_view cursorOf(std::string_view json) {
  auto k = json.find("\"cursor\":\"");
  if (k == std::string_view::npos) return {};
  k += 10;
  auto e = json.find('"', k);
  return e == std::string_view::npos ? std::string_view() : json.substr(k, e - k);
}
}  // namespace

WsSwarm::WsSwarm(std::vector<Client> clients, Options options, OnFrame onFrame)
    : clients_(std::move(clients)), options_(options), onFrame_(std::move(onFrame)) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

WsSwarm::~WsSwarm() {
  for (auto& c : clients_) {
    if (c.fd >= 0) ::close(c.fd);
  }
  ::close(epoll_);
}

void WsSwarm::startConnect(std::size_t i) {
  auto& c = clients_[i];
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    ++failures_;
    c.state = kClosed;
    return;
  }
  ++c.generation;
  int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl((127u << 24) | static_cast<unsigned>(options_.sourceBase + static_cast<int>(i) / options_.perAddress));
  ::bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(c.ports[c.portIndex % c.ports.size()]));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c.in.clear();
  c.out.clear();
  c.state = kConnecting;
  ++connecting_;
  if (::connect(c.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS) {
    drop(i);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = tag(i, c.generation);
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
}

void WsSwarm::flush(std::size_t i) {
  auto& c = clients_[i];
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    return drop(i);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | (c.out.empty() ? 0u : static_cast<unsigned>(EPOLLOUT));
  ev.data.u64 = tag(i, c.generation);
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
}

void WsSwarm::onWritable(std::size_t i) {
  auto& c = clients_[i];
  if (c.state == kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return drop(i);
    std::string target = c.target;
    if (!c.lastCursor.empty()) target += (target.find('?') == std::string::npos ? "?after=" : "&after=") + c.lastCursor;
    c.out = "GET " + target +
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    c.state = kUpgrading;
  }
  flush(i);
}

void WsSwarm::sendFrame(std::size_t i, int opcode, std::string_view payload) {
  auto& c = clients_[i];
  // Client frames are masked (RFC 6455 5.3); control payloads are < 126 bytes.
  const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  c.out.push_back(static_cast<char>(0x80 | opcode));
  c.out.push_back(static_cast<char>(0x80 | (payload.size() & 0x7f)));
  c.out.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t k = 0; k < payload.size(); ++k) c.out.push_back(static_cast<char>(payload[k] ^ mask[k % 4]));
  flush(i);
}

bool WsSwarm::parseFrames(std::size_t i, Clock::time_point now) {
  auto& c = clients_[i];
  std::size_t pos = 0;
  while (c.state == kOpen && c.in.size() - pos >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(c.in.data() + pos);
    const std::size_t avail = c.in.size() - pos;
    std::uint64_t len = p[1] & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (static_cast<std::uint64_t>(p[2]) << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int k = 0; k < 8; ++k) len = (len << 8) | p[2 + k];
      header = 10;
    }
    if (avail < header + len) break;
    const int opcode = p[0] & 0x0f;
    std::string_view payload(c.in.data() + pos + header, static_cast<std::size_t>(len));
    pos += header + static_cast<std::size_t>(len);
    if (opcode == 1 || opcode == 2) {
      if (auto cur = cursorOf(payload); !cur.empty()) c.lastCursor.assign(cur);
      if (onFrame_) onFrame_(i, payload, now);
    } else if (opcode == 9) {
      sendFrame(i, 10, payload.substr(0, 125));
    } else if (opcode == 8) {
      c.closeCode = payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]) : 1005;
      sendFrame(i, 8, payload.substr(0, 2));
      c.in.clear();
      drop(i);
      return false;
    }
  }
  c.in.erase(0, pos);
  return true;
}

void WsSwarm::onReadable(std::size_t i, Clock::time_point now) {
  auto& c = clients_[i];
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    return drop(i);  // 0: closed by the server; <0: reset
  }
  if (c.state == kUpgrading) {
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) return drop(i);
    c.in.erase(0, end + 4);
    c.state = kOpen;
    --connecting_;
    ++open_;
    if (++everOpened_ == clients_.size()) allOpenAt_ = now;
  }
  if (c.state == kOpen) parseFrames(i, now);
}

void WsSwarm::drop(std::size_t i) {
  auto& c = clients_[i];
  if (c.fd >= 0) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
  }
  if (c.state == kOpen) --open_;
  if (c.state == kConnecting || c.state == kUpgrading) {
    --connecting_;
    ++failures_;
  }
  c.state = kClosed;
  if (options_.reconnect && !stop_) {
    c.portIndex = (c.portIndex + 1) % c.ports.size();
    ++c.reconnects;
    retries_.emplace_back(Clock::now() + options_.reconnectDelay, i);
  }
}

void WsSwarm::run(Clock::time_point until) {
  if (startedAt_ == Clock::time_point{}) startedAt_ = Clock::now();
  std::vector<epoll_event> events(4096);
  while (!stop_ && Clock::now() < until) {
    while (connecting_ < static_cast<std::size_t>(options_.maxConnecting) && nextToStart_ < clients_.size()) {
      startConnect(nextToStart_++);
    }
    if (!retries_.empty()) {
      const auto now = Clock::now();
      std::vector<std::pair<Clock::time_point, std::size_t>> later;
      for (auto& [due, i] : retries_) {
        if (due <= now && connecting_ < static_cast<std::size_t>(options_.maxConnecting)) startConnect(i);
        else later.emplace_back(due, i);
      }
      retries_ = std::move(later);
    }
    const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 20);
    const auto now = Clock::now();
    for (int k = 0; k < n; ++k) {
      const std::size_t i = static_cast<std::size_t>(events[k].data.u64 & 0xffffffffu);
      const unsigned generation = static_cast<unsigned>(events[k].data.u64 >> 32);
      if (i >= clients_.size() || clients_[i].generation != generation || clients_[i].fd < 0) continue;
      const auto e = events[k].events;
      if (e & EPOLLIN) onReadable(i, now);
      if (clients_[i].fd < 0 || clients_[i].generation != generation) continue;
      if (e & EPOLLOUT) onWritable(i);
      else if (e & (EPOLLERR | EPOLLHUP)) drop(i);
    }
  }
}

}  // namespace safestream::testing
