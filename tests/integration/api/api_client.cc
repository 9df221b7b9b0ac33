#include "tests/integration/api/api_client.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <sstream>

#include "tests/support/stack_env.h"

namespace safestream::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpResult httpRequest(int port, const std::string& method, const std::string& target, const std::string& body,
                       const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  HttpResult out;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  if (!body.empty() || method == "POST" || method == "PATCH") req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bool done = false;
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
                       [&](beast::error_code ec) {
                         if (ec) return;
                         http::async_write(stream, req, [&](beast::error_code ec2, std::size_t) {
                           if (ec2) return;
                           http::async_read(stream, buffer, parser, [&](beast::error_code ec3, std::size_t) {
                             done = !ec3;
                           });
                         });
                       });
  ioc.run();
  if (!done) return out;
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  out.body = res.body();
  return out;
}

std::string rawExchange(int port, const std::vector<std::string>& pieces, std::chrono::milliseconds pause,
                        std::chrono::milliseconds timeout) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) return {};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    net::write(socket, net::buffer(pieces[i]), ec);
    if (ec) break;
    if (i + 1 < pieces.size()) std::this_thread::sleep_for(pause);  // the slow client itself, not a wait for a result
    if (std::chrono::steady_clock::now() > deadline) break;
  }
  std::string out;
  timeval tv{0, 200000};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    ssize_t n = ::recv(socket.native_handle(), buf, sizeof buf, 0);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0) break;
    else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
  }
  return out;
}

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  bool smallBuffer = false;
  // One async_read stays outstanding across read() calls, so a read that
  // times out does not break the stream: the next call keeps waiting for it.
  bool pending = false;
  std::deque<std::string> frames;
  bool closed = false;
  int closeCode = 0;

  void startRead() {
    pending = true;
    ws.async_read(buffer, [this](beast::error_code ec, std::size_t) {
      pending = false;
      if (ec) {
        closed = true;
        closeCode = ws.reason().code;
        return;
      }
      frames.push_back(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
    });
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() { close(); }

int WsClient::connect(int port, const std::string& target, const std::map<std::string, std::string>& headers) {
  auto& lowest = beast::get_lowest_layer(impl_->ws);
  beast::error_code ec;
  if (impl_->smallBuffer) {
    lowest.socket().open(tcp::v4(), ec);
    lowest.socket().set_option(net::socket_base::receive_buffer_size(4096), ec);
  }
  lowest.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) return 0;
  impl_->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers) req.set(k, v);
  }));
  websocket::response_type res;
  impl_->ws.handshake(res, "127.0.0.1:" + std::to_string(port), target, ec);
  if (ec) return -1;
  return static_cast<int>(res.result_int());
}

void WsClient::setSmallReceiveBuffer() { impl_->smallBuffer = true; }

std::optional<std::string> WsClient::read(std::chrono::milliseconds timeout) {
  if (impl_->frames.empty() && !impl_->closed) {
    if (!impl_->pending) impl_->startRead();
    impl_->ioc.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (impl_->frames.empty() && !impl_->closed && std::chrono::steady_clock::now() < deadline) {
      impl_->ioc.run_one_until(deadline);
    }
  }
  closed_ = impl_->closed && impl_->frames.empty();
  closeCode_ = impl_->closeCode;
  if (impl_->frames.empty()) return std::nullopt;
  auto f = std::move(impl_->frames.front());
  impl_->frames.pop_front();
  return f;
}

void WsClient::close() {
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().close(ec);
  impl_->ioc.restart();
  impl_->ioc.poll();  // let an outstanding read complete (aborted) before the stream goes away
  closed_ = true;
}

ApiDaemon::ApiDaemon(std::vector<std::string> extraArgs) : port_(freePort()), metricsPort_(freePort()) {
  loadStackEnvIntoProcess();
  std::vector<std::string> args = {"--port", std::to_string(port_), "--metrics-port", std::to_string(metricsPort_),
                                   "--log-level", "warn"};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  process_ = std::make_unique<DaemonProcess>(binaryPath("api/safestream-api"), args);
  process_->start();
  if (!process_->waitHealthy("http://127.0.0.1:" + std::to_string(port_) + "/healthz", std::chrono::seconds(30))) {
    throw std::runtime_error("safestream-api did not become healthy: " + process_->logTail());
  }
}

double metricValue(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      auto sp = line.find_last_of(' ');
      return std::stod(line.substr(sp + 1));
    }
  }
  return -1;
}

}  // namespace safestream::testing
