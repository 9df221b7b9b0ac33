#include "tests/integration/ingest/fake_source_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace safestream::testing {
namespace {

std::string decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

void sendAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

FakeSourceServer::FakeSourceServer(Handler handler) : handler_(std::move(handler)) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel picks a free port
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listenFd_, 64) != 0) {
    throw std::runtime_error("fake server: cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeSourceServer::~FakeSourceServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  acceptor_.join();
  for (auto& t : workers_) t.join();
  ::close(listenFd_);
}

std::vector<FakeRequest> FakeSourceServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<std::chrono::steady_clock::time_point> FakeSourceServer::requestTimes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return times_;
}

void FakeSourceServer::acceptLoop() {
  while (!stop_) {
    pollfd p{listenFd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void FakeSourceServer::serve(int fd) {
  std::string in;
  char buf[4096];
  while (in.find("\r\n\r\n") == std::string::npos && in.size() < 65536) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  FakeRequest req;
  const auto lineEnd = in.find("\r\n");
  const std::string line = in.substr(0, lineEnd);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.find(' ', sp1 + 1);
  const std::string target = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::string qs = target.substr(q + 1);
    std::size_t pos = 0;
    while (pos <= qs.size()) {
      auto amp = qs.find('&', pos);
      if (amp == std::string::npos) amp = qs.size();
      const std::string kv = qs.substr(pos, amp - pos);
      const auto eq = kv.find('=');
      if (!kv.empty()) req.query[decode(kv.substr(0, eq))] = eq == std::string::npos ? "" : decode(kv.substr(eq + 1));
      pos = amp + 1;
    }
  }
  std::size_t pos = lineEnd == std::string::npos ? in.size() : lineEnd + 2;
  while (pos < in.size()) {
    auto end = in.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;
    const std::string h = in.substr(pos, end - pos);
    const auto colon = h.find(':');
    if (colon != std::string::npos) {
      std::string name = h.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      req.headers[name] = value;
    }
    pos = end + 2;
  }
  int index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = count_++;
    requests_.push_back(req);
    times_.push_back(std::chrono::steady_clock::now());
  }
  FakeReply reply = handler_(req, index);
  if (reply.delay.count() > 0) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, reply.delay, [this] { return stop_.load(); });
  }
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) + "\r\n";
  out += "Content-Type: " + reply.contentType + "\r\n";
  out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  out += "Connection: close\r\n";
  for (const auto& [k, v] : reply.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  out += reply.truncate ? reply.body.substr(0, reply.body.size() / 2) : reply.body;
  sendAll(fd, out);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

}  // namespace safestream::testing
