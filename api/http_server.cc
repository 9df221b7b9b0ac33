#include "api/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <thread>
#include <vector>

#include "api/api_metrics.h"
#include "api/router.h"
#include "core/log.h"
#include "core/result.h"

namespace safestream::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
constexpr const char* kServerName = "safestream-api";
constexpr const char* kLivePattern = "/v1/subscriptions/{id}/live";
constexpr int kSyncPage = 500;
constexpr int kMaxSyncPages = 20;  // a resume replays at most 10,000 alerts, then the client pages /alerts
}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  ServerOptions options;
  Handler handler;
  LiveHooks live;
  ApiMetrics* metrics;
  net::io_context ioc;
  net::thread_pool workers;
  std::vector<tcp::acceptor> acceptors;
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};
  int boundPort = 0;

  Impl(ServerOptions o, Handler h, LiveHooks l, ApiMetrics* m)
      : options(std::move(o)), handler(std::move(h)), live(l), metrics(m),
        ioc(std::max(1, options.ioThreads)), workers(static_cast<std::size_t>(std::max(1, options.workerThreads))) {}

  void listen(int port);
  void accept(tcp::acceptor& acceptor);
};

namespace {

using Shared = std::shared_ptr<HttpServer::Impl>;

HttpRequest toRequest(const http::request<http::string_body>& req, const std::string& peer, bool trustProxy) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  const auto rawTarget = req.target();
  std::string_view target(rawTarget.data(), rawTarget.size());
  auto q = target.find('?');
  std::string rawPath(target.substr(0, q));
  if (!percentDecode(rawPath, out.path, false)) out.path = rawPath;
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  out.body = req.body();
  out.clientIp = peer;
  if (trustProxy) {
    // The last hop is the one our own proxy appended; earlier ones are the client's word.
    std::string xff = out.header("x-forwarded-for");
    auto comma = xff.find_last_of(',');
    std::string last = comma == std::string::npos ? xff : xff.substr(comma + 1);
    last.erase(0, last.find_first_not_of(' '));
    last.erase(last.find_last_not_of(' ') + 1);
    if (!last.empty() && last.size() <= 45) out.clientIp = last;
  }
  return out;
}

// ---- WebSocket session ---------------------------------------------------------

class WsSession : public LiveSubscriber, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(beast::tcp_stream&& stream, Shared shared, std::string subscriptionId, std::string after)
      : ws_(std::move(stream)), strand_(ws_.get_executor()), closeTimer_(strand_), shared_(std::move(shared)),
        subscriptionId_(std::move(subscriptionId)), lastCursor_(std::move(after)) {}

  ~WsSession() override {
    if (handle_ && shared_->live.hub) shared_->live.hub->remove(handle_);
    if (accepted_ && shared_->metrics) shared_->metrics->websocketsOpen.Decrement();
  }

  void run(http::request<http::string_body> req) {
    upgrade_ = std::move(req);
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout opt{};
    opt.handshake_timeout = std::chrono::seconds(5);
    // Beast pings after half the idle timeout without traffic from the peer
    // and drops the connection when the full timeout passes without a pong.
    opt.idle_timeout = shared_->options.wsPingInterval * 2;
    opt.keep_alive_pings = true;
    ws_.set_option(opt);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, kServerName); }));
    ws_.read_message_max(4096);
    ws_.async_accept(upgrade_, beast::bind_front_handler(&WsSession::onAccept, shared_from_this()));
  }

  // Listener thread: hop onto the strand; never touch state here.
  void deliver(const std::string& cursor, const std::string& json) override {
    net::post(strand_, [self = shared_from_this(), cursor, json] { self->onLive(cursor, json); });
  }
  void resync() override {
    net::post(strand_, [self = shared_from_this()] {
      if (self->closing_ || !self->accepted_) return;
      if (self->syncing_) self->resyncPending_ = true;
      else self->startSync();
    });
  }

 private:
  void onAccept(beast::error_code ec) {
    if (ec) return;
    accepted_ = true;
    if (shared_->metrics) {
      shared_->metrics->websocketsOpen.Increment();
      shared_->metrics->request(kLivePattern, "GET", 101, 0);
    }
    // Register first, then read the stream: an alert is either in what the
    // read returns or published after registration, so nothing falls in between.
    handle_ = shared_->live.hub->add(subscriptionId_, weak_from_this());
    startSync();
    doRead();
  }

  void startSync() {
    syncing_ = true;
    const std::string from = lastCursor_;
    net::post(shared_->workers, [self = shared_from_this(), from] {
      std::vector<AlertEntry> entries;
      std::string cursor = from;
      std::optional<core::Error> error;
      if (from.empty()) {
        auto last = self->shared_->live.history->lastCursor(self->subscriptionId_);
        if (last) cursor = *last;
        else error = last.error();
      } else {
        for (int page = 0; page < kMaxSyncPages; ++page) {
          auto r = self->shared_->live.history->after(self->subscriptionId_, cursor, kSyncPage);
          if (!r) {
            error = r.error();
            break;
          }
          for (auto& e : *r) entries.push_back(std::move(e));
          if (r->empty()) break;
          cursor = entries.back().cursor;
          if (static_cast<int>(r->size()) < kSyncPage) break;
        }
      }
      net::post(self->strand_, [self, entries = std::move(entries), cursor, error]() mutable {
        self->onSynced(std::move(entries), cursor, error);
      });
    });
  }

  void onSynced(std::vector<AlertEntry> entries, const std::string& cursor, const std::optional<core::Error>& error) {
    if (closing_) return;
    if (error) {
      core::log::warn("ws_resume_failed", {{"subscription_id", subscriptionId_}, {"message", error->message}});
      return closeWith(websocket::close_code::try_again_later, "alert history unavailable; reconnect with after=");
    }
    if (lastCursor_.empty()) lastCursor_ = cursor;  // a fresh connection starts at the stream's end
    syncing_ = false;
    for (auto& e : entries) enqueue(e.cursor, std::move(e.json));
    auto buffered = std::move(buffered_);
    buffered_.clear();
    for (auto& [c, j] : buffered) onLive(c, j);
    if (resyncPending_ && !closing_) {
      resyncPending_ = false;
      startSync();
    }
  }

  void onLive(const std::string& cursor, const std::string& json) {
    if (closing_ || !accepted_) return;
    if (syncing_) {
      buffered_.emplace_back(cursor, json);
      if (buffered_.size() > shared_->options.wsMaxQueue * 4) slowClient();
      return;
    }
    enqueue(cursor, json);
  }

  void enqueue(const std::string& cursor, std::string json) {
    if (closing_) return;
    if (!lastCursor_.empty() && compareStreamIds(cursor, lastCursor_) <= 0) return;  // already sent
    lastCursor_ = cursor;
    queue_.push_back(std::move(json));
    if (queue_.size() > shared_->options.wsMaxQueue) return slowClient();
    if (!writing_) doWrite();
  }

  void doWrite() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()), beast::bind_front_handler(&WsSession::onWrite, shared_from_this()));
  }

  void onWrite(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return;
    if (shared_->metrics) shared_->metrics->alertsPushed.Increment();
    if (!queue_.empty()) queue_.pop_front();
    if (!queue_.empty() && !closing_) doWrite();
  }

  // A client that does not read would make the queue grow without bound:
  // close with 1008 and, if even the close frame cannot be written, drop the socket.
  void slowClient() {
    if (closing_) return;
    if (shared_->metrics) shared_->metrics->slowClientDisconnects.Increment();
    core::log::info("ws_slow_client_closed", {{"subscription_id", subscriptionId_}});
    closeWith(websocket::close_code::policy_error, "client too slow: alerts not read");
  }

  void closeWith(websocket::close_code code, const char* reason) {
    if (closing_) return;
    closing_ = true;
    buffered_.clear();
    if (queue_.size() > 1) queue_.resize(writing_ ? 1 : 0);  // keep the frame being written alive
    ws_.async_close(websocket::close_reason(code, reason), [self = shared_from_this()](beast::error_code) {
      self->closeTimer_.cancel();
    });
    closeTimer_.expires_after(shared_->options.wsCloseTimeout);
    closeTimer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

  void doRead() {
    ws_.async_read(readBuffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->closing_ = true;
        self->closeTimer_.cancel();
        return;  // closed by the peer, timed out (no pong) or dropped
      }
      // Clients have nothing to say on this channel; their messages are ignored.
      self->readBuffer_.consume(self->readBuffer_.size());
      self->doRead();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  net::any_io_executor strand_;
  net::steady_timer closeTimer_;
  Shared shared_;
  std::string subscriptionId_;
  std::string lastCursor_;
  http::request<http::string_body> upgrade_;
  AlertHub::Handle handle_ = 0;
  beast::flat_buffer readBuffer_;
  std::deque<std::string> queue_;
  std::vector<std::pair<std::string, std::string>> buffered_;
  bool accepted_ = false;
  bool writing_ = false;
  bool syncing_ = false;
  bool resyncPending_ = false;
  bool closing_ = false;
};

// ---- HTTP session --------------------------------------------------------------

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Shared shared)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), shared_(std::move(shared)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = ep.address().to_string();
  }

  void run() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::doRead, shared_from_this())); }

 private:
  void doRead() {
    parser_.emplace();
    parser_->body_limit(shared_->options.maxBodyBytes);
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.maxHeaderBytes));
    timedOut_ = false;
    // The first request of a connection gets the request deadline; a
    // keep-alive wait the idle one, then the request deadline once bytes come.
    startTimer(requests_ == 0 ? shared_->options.requestTimeout : shared_->options.idleTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::onHeader, shared_from_this()));
  }

  void startTimer(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->timedOut_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }

  void onHeader(beast::error_code ec, std::size_t) {
    if (ec) return onReadError(ec);
    auto& req = parser_->get();
    if (websocket::is_upgrade(req)) {
      timer_.cancel();
      return upgrade(parser_->release());
    }
    if (requests_ > 0) startTimer(shared_->options.requestTimeout);
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a body.
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](beast::error_code ec2, std::size_t) {
        if (ec2) return self->onReadError(ec2);
        self->readBody();
      });
      return;
    }
    readBody();
  }

  void readBody() {
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::onRead, shared_from_this()));
  }

  void onReadError(beast::error_code ec) {
    timer_.cancel();
    if (timedOut_) {
      if (parser_->got_some() || buffer_.size() > 0) {
        return transportError(errorResponse(408, "request_timeout", "the request did not arrive within " +
                                                                   std::to_string(shared_->options.requestTimeout.count()) +
                                                                   " ms"));
      }
      return shutdown();  // idle keep-alive connection
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset) {
      return shutdown();
    }
    if (ec == http::error::body_limit) {
      return transportError(errorResponse(413, "body_too_large", "the body is larger than " +
                                                                 std::to_string(shared_->options.maxBodyBytes) + " bytes"));
    }
    if (ec == http::error::header_limit) {
      return transportError(errorResponse(431, "headers_too_large", "the request headers are too large"));
    }
    if (ec.category() == beast::error_code(http::error::bad_target).category()) {
      return transportError(errorResponse(400, "bad_request", "malformed HTTP request: " + ec.message()));
    }
    shutdown();
  }

  void onRead(beast::error_code ec, std::size_t) {
    if (ec) return onReadError(ec);
    timer_.cancel();
    ++requests_;
    auto msg = parser_->release();
    keepAlive_ = msg.keep_alive();
    head_ = msg.method() == http::verb::head;
    auto request = toRequest(msg, peer_, shared_->options.trustProxy);
    auto respond = [self = shared_from_this()](HttpResponse r) {
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->write(std::move(r), false); });
    };
    if (shared_->options.runInline && shared_->options.runInline(request)) {
      shared_->handler(std::move(request), std::move(respond));
      return;
    }
    net::post(shared_->workers, [self = shared_from_this(), request = std::move(request), respond]() mutable {
      self->shared_->handler(std::move(request), std::move(respond));
    });
  }

  void upgrade(http::request<http::string_body> req) {
    HttpRequest r = toRequest(req, peer_, shared_->options.trustProxy);
    std::map<std::string, std::string> params;
    if (!matchPattern(kLivePattern, r.path, params)) {
      return sendError(errorResponse(404, "not_found", "no WebSocket endpoint at " + r.path));
    }
    std::map<std::string, std::string> query;
    std::string bad;
    if (!parseQuery(r.query, query, bad)) return sendError(errorResponse(400, "invalid_parameter", "malformed query string"));
    std::string token = query["token"];
    const std::string auth = r.header("authorization");
    if (auth.size() > 7 && (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) token = auth.substr(7);
    std::string after = query.count("after") ? query["after"] : r.header("last-event-id");
    if (after == "0") after = "0-0";
    if (!after.empty() && !isStreamId(after)) {
      return sendError(errorResponse(400, "invalid_parameter", "after must be a cursor this API returned", "after"));
    }
    const std::string id = params["id"];
    net::post(shared_->workers, [self = shared_from_this(), req = std::move(req), id, token, after]() mutable {
      auto denied = self->shared_->live.authorize(id, token);
      net::post(self->stream_.get_executor(), [self, req = std::move(req), id, after, denied = std::move(denied)]() mutable {
        if (denied) {
          if (self->shared_->metrics) self->shared_->metrics->request(kLivePattern, "GET", denied->status, 0);
          return self->sendError(std::move(*denied));
        }
        std::make_shared<WsSession>(std::move(self->stream_), self->shared_, id, after)->run(std::move(req));
      });
    });
  }

  // Requests refused before routing (slow, too large, not HTTP) are counted
  // under route "transport" so they show up beside the routed ones.
  void transportError(HttpResponse r) {
    if (shared_->metrics) shared_->metrics->request("transport", "-", r.status, 0);
    sendError(std::move(r));
  }

  void sendError(HttpResponse r) {
    keepAlive_ = false;
    write(std::move(r), true);
  }

  void write(HttpResponse r, bool closeAfter) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::server, kServerName);
    if (!r.contentType.empty()) res->set(http::field::content_type, r.contentType);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    if (r.status >= 400) res->set(http::field::cache_control, "no-store");
    res->keep_alive(keepAlive_ && !closeAfter);
    res->body() = std::move(r.body);
    res->prepare_payload();
    if (head_) res->body().clear();
    stream_.expires_after(shared_->options.requestTimeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res, closeAfter](beast::error_code ec, std::size_t) {
      self->stream_.expires_never();
      if (ec) return;
      if (closeAfter || !res->keep_alive()) return self->lingeringClose();
      self->doRead();
    });
  }

  // After an error the client may still be sending (a large or slow body);
  // closing at once would reset the connection and lose our response, so
  // stop sending and read/discard for a short while first.
  void lingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    drain_ = std::make_shared<std::array<char, 16384>>();
    drainSome();
  }
  void drainSome() {
    stream_.async_read_some(net::buffer(*drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->shutdown();
      self->drainSome();
    });
  }

  void shutdown() {
    timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  Shared shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<std::array<char, 16384>> drain_;
  std::string peer_;
  std::size_t requests_ = 0;
  bool timedOut_ = false;
  bool keepAlive_ = true;
  bool head_ = false;
};

}  // namespace

void HttpServer::Impl::listen(int port) {
  tcp::endpoint ep;
  try {
    ep = tcp::endpoint(net::ip::make_address(options.host), static_cast<unsigned short>(port));
  } catch (const std::exception& e) {
    throw core::ConfigError("--host '" + options.host + "' is not an IP address");
  }
  tcp::acceptor acceptor(net::make_strand(ioc));
  beast::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw core::ConfigError("cannot listen on " + options.host + ":" + std::to_string(port) + ": " + ec.message());
  }
  if (boundPort == 0) boundPort = acceptor.local_endpoint().port();
  acceptors.push_back(std::move(acceptor));
}

void HttpServer::Impl::accept(tcp::acceptor& acceptor) {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this(), &acceptor](beast::error_code ec, tcp::socket socket) {
    if (self->stopped) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<HttpSession>(std::move(socket), self)->run();
    } else if (ec == net::error::operation_aborted) {
      return;
    } else {
      core::log::warn("accept_failed", {{"message", ec.message()}});
    }
    self->accept(acceptor);
  });
}

HttpServer::HttpServer(ServerOptions options, Handler handler, LiveHooks live, ApiMetrics* metrics)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(handler), live, metrics)) {
  impl_->acceptors.reserve(2);
  impl_->listen(impl_->options.port);
  if (impl_->options.extraPort > 0 && impl_->options.extraPort != impl_->options.port) {
    impl_->listen(impl_->options.extraPort);
  }
  for (auto& a : impl_->acceptors) impl_->accept(a);
  for (int i = 0; i < std::max(1, impl_->options.ioThreads); ++i) {
    impl_->threads.emplace_back([impl = impl_] {
      for (;;) {
        try {
          impl->ioc.run();
          return;
        } catch (const std::exception& e) {
          // A handler must not take the server down; log and keep serving.
          core::log::error("io_thread_exception", {{"message", std::string(e.what())}});
        }
      }
    });
  }
  core::log::info("api_listening", {{"host", impl_->options.host}, {"port", impl_->boundPort},
                                    {"extra_port", impl_->options.extraPort}});
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->workers.join();  // their replies are posted to the stopped context and dropped
  beast::error_code ec;
  for (auto& a : impl_->acceptors) a.close(ec);
}

int HttpServer::port() const { return impl_->boundPort; }

}  // namespace safestream::api
