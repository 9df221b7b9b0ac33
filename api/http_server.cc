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
#include "core/live_feed.h"
#include "api/ws_handshake.h"
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
constexpr const char* kBroadcastPath = "/v1/live";
constexpr int kSyncPage = 500;
constexpr int kMaxSyncPages = 20;  // a resume replays at most 10,000 alerts, then the client pages /alerts
}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  ServerOptions options;
  Handler handler;
  LiveHooks live;
  ApiMetrics* metrics;
  // One io_context per I/O thread, each run by that thread alone: a
  // connection lives on one of them for its whole life, so its handlers
  // never run concurrently (no strands) and the live fan-out reaches a
  // thread's sessions with one post (AlertHub's shard = the context index).
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  net::thread_pool workers;
  std::vector<tcp::acceptor> acceptors;
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};
  std::size_t nextContext = 0;  // round-robin for accepted sockets; acceptor thread only
  int boundPort = 0;

  Impl(ServerOptions o, Handler h, LiveHooks l, ApiMetrics* m)
      : options(std::move(o)), handler(std::move(h)), live(l), metrics(m),
        workers(static_cast<std::size_t>(std::max(1, options.workerThreads))) {
    for (int i = 0; i < std::max(1, options.ioThreads); ++i) {
      contexts.push_back(std::make_unique<net::io_context>(1));
      guards.push_back(net::make_work_guard(*contexts.back()));
    }
  }

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

// One live connection. It lives on one io_context (its shard), so every
// member is touched by that thread only: the hub's fan-out task, the worker's
// history read and the socket handlers all run there.
//
// Memory of an idle session (measured by bench/api/ws_fanout.sh): the Beast
// stream (its 1.5 KB read buffer and timer), this object, the hub slot; no
// request, queue or read buffer stays allocated.
class WsSession : public LiveSubscriber, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket&& socket, Shared shared, std::size_t shard, std::string feed, std::string after)
      : ws_(std::move(socket)), closeTimer_(ws_.get_executor()), shared_(std::move(shared)), shard_(shard),
        feed_(std::move(feed)), lastCursor_(std::move(after)) {}

  ~WsSession() override {
    if (accepted_ && shared_->metrics) shared_->metrics->websocketsOpen.Decrement();
  }

  void run(http::request<http::string_body> req) {
    upgrade_ = std::make_unique<http::request<http::string_body>>(std::move(req));
    websocket::stream_base::timeout opt{};
    opt.handshake_timeout = std::chrono::seconds(5);
    // Beast pings after half the idle timeout without traffic from the peer
    // and drops the connection when the full timeout passes without a pong.
    opt.idle_timeout = shared_->options.wsPingInterval * 2;
    opt.keep_alive_pings = true;
    ws_.set_option(opt);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, kServerName); }));
    ws_.read_message_max(readBuffer_.max_size());
    ws_.auto_fragment(false);  // an alert is one frame, written in one go
    ws_.text(true);
    ws_.async_accept(*upgrade_, beast::bind_front_handler(&WsSession::onAccept, shared_from_this()));
  }

  // The hub's fan-out task, on this session's thread.
  void deliver(const LiveFramePtr& frame) override { onLive(frame); }
  void resync() override {
    if (closing_ || !accepted_) return;
    if (syncing_) resyncPending_ = true;
    else startSync();
  }

 private:
  void onAccept(beast::error_code ec) {
    upgrade_.reset();
    if (ec) return;
    accepted_ = true;
    if (shared_->metrics) {
      shared_->metrics->websocketsOpen.Increment();
      shared_->metrics->request(kLivePattern, "GET", 101, 0);
    }
    // Register first, then read the stream: an alert is either in what the
    // read returns or published after registration, so nothing falls in between.
    shared_->live.hub->add(shard_, feed_, shared_from_this());
    registered_ = true;
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
        auto last = self->shared_->live.history->lastCursor(self->feed_);
        if (last) cursor = *last;
        else error = last.error();
      } else {
        for (int page = 0; page < kMaxSyncPages; ++page) {
          auto r = self->shared_->live.history->after(self->feed_, cursor, kSyncPage);
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
      auto ex = self->ws_.get_executor();
      net::post(ex, [self = std::move(self), entries = std::move(entries), cursor, error]() mutable {
        self->onSynced(std::move(entries), cursor, error);
      });
    });
  }

  void onSynced(std::vector<AlertEntry> entries, const std::string& cursor, const std::optional<core::Error>& error) {
    if (closing_) return;
    if (error) {
      core::log::warn("ws_resume_failed", {{"feed", feed_}, {"message", error->message}});
      return closeWith(websocket::close_code::try_again_later, "alert history unavailable; reconnect with after=");
    }
    if (lastCursor_.empty()) lastCursor_ = cursor;  // a fresh connection starts at the stream's end
    syncing_ = false;
    for (auto& e : entries) enqueue(std::make_shared<const LiveFrame>(LiveFrame{std::move(e.cursor), std::move(e.json)}));
    auto buffered = std::move(buffered_);
    buffered_ = {};
    for (auto& f : buffered) onLive(f);
    if (resyncPending_ && !closing_) {
      resyncPending_ = false;
      startSync();
    }
  }

  void onLive(const LiveFramePtr& frame) {
    if (closing_ || !accepted_) return;
    if (syncing_) {
      buffered_.push_back(frame);
      if (buffered_.size() > shared_->options.wsMaxQueue * 4) slowClient();
      return;
    }
    enqueue(frame);
  }

  void enqueue(LiveFramePtr frame) {
    if (closing_) return;
    if (!lastCursor_.empty() && compareStreamIds(frame->cursor, lastCursor_) <= 0) return;  // already sent
    lastCursor_ = frame->cursor;
    queue_.push_back(std::move(frame));
    if (queue_.size() - head_ > shared_->options.wsMaxQueue) return slowClient();
    if (!writing_) doWrite();
  }

  void doWrite() {
    writing_ = true;
    ws_.async_write(net::buffer(queue_[head_]->json), beast::bind_front_handler(&WsSession::onWrite, shared_from_this()));
  }

  void onWrite(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) return;
    if (shared_->metrics) shared_->metrics->alertsPushed.Increment();
    popFront();
    if (head_ < queue_.size() && !closing_) doWrite();
  }

  void popFront() {
    if (head_ < queue_.size()) queue_[head_++].reset();
    if (head_ == queue_.size()) {
      queue_.clear();
      head_ = 0;
      if (queue_.capacity() > 64) queue_.shrink_to_fit();  // an idle session keeps no queue
    }
  }

  // A client that does not read would make the queue grow without bound:
  // close with 1008 and, if even the close frame cannot be written, drop the socket.
  void slowClient() {
    if (closing_) return;
    if (shared_->metrics) shared_->metrics->slowClientDisconnects.Increment();
    core::log::info("ws_slow_client_closed", {{"feed", feed_}});
    closeWith(websocket::close_code::policy_error, "client too slow: alerts not read");
  }

  void closeWith(websocket::close_code code, const char* reason) {
    if (closing_) return;
    closing_ = true;
    buffered_ = {};
    // Keep the frame being written alive; drop the rest.
    if (writing_) queue_.resize(head_ + 1);
    else {
      queue_.clear();
      head_ = 0;
    }
    ws_.async_close(websocket::close_reason(code, reason), [self = shared_from_this()](beast::error_code) {
      self->closeTimer_.cancel();
    });
    closeTimer_.expires_after(shared_->options.wsCloseTimeout);
    closeTimer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->ws_).close(ignored);
    });
  }

  void doRead() {
    ws_.async_read(readBuffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        // Closed by the peer, timed out (no pong) or dropped: leave the hub,
        // which held the last reference once the handlers in flight end.
        self->closing_ = true;
        self->closeTimer_.cancel();
        self->leave();
        return;
      }
      // Clients have nothing to say on this channel; their messages are ignored.
      self->readBuffer_.consume(self->readBuffer_.size());
      self->doRead();
    });
  }

  void leave() {
    if (!registered_) return;
    registered_ = false;
    shared_->live.hub->remove(shard_, feed_, this);
  }

  websocket::stream<tcp::socket> ws_;
  net::steady_timer closeTimer_;
  Shared shared_;
  std::size_t shard_;
  std::string feed_;  // the feed's stream key (core/live_feed.h)
  std::string lastCursor_;
  std::unique_ptr<http::request<http::string_body>> upgrade_;  // only until the handshake is answered
  beast::flat_static_buffer<512> readBuffer_;  // clients send nothing but control frames
  std::vector<LiveFramePtr> queue_;  // frames from head_ on wait to be written
  std::size_t head_ = 0;
  std::vector<LiveFramePtr> buffered_;  // live frames that arrived during a history read
  bool accepted_ = false;
  bool registered_ = false;
  bool writing_ = false;
  bool syncing_ = false;
  bool resyncPending_ = false;
  bool closing_ = false;
};

// ---- HTTP session --------------------------------------------------------------

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Shared shared, std::size_t shard)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), shared_(std::move(shared)), shard_(shard) {
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
    // From a worker or the Kafka delivery thread this hops to the
    // connection's thread; an inline handler answering at once writes directly.
    auto respond = [self = shared_from_this()](HttpResponse r) {
      net::dispatch(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->write(std::move(r), false); });
    };
    request.continueOn = [ex = stream_.get_executor()](std::function<void()> task) { net::post(ex, std::move(task)); };
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
    const bool subscription = matchPattern(kLivePattern, r.path, params);
    if (!subscription && r.path != kBroadcastPath) {
      return sendError(errorResponse(404, "not_found", "no WebSocket endpoint at " + r.path));
    }
    if (auto refused = checkWebSocketUpgrade(r, shared_->options.wsAllowedOrigins)) {
      if (shared_->metrics) shared_->metrics->request(subscription ? kLivePattern : kBroadcastPath, "GET", refused->status, 0);
      return sendError(std::move(*refused));
    }
    std::map<std::string, std::string> query;
    std::string bad;
    if (!parseQuery(r.query, query, bad)) return sendError(errorResponse(400, "invalid_parameter", "malformed query string"));
    std::string after = query.count("after") ? query["after"] : r.header("last-event-id");
    if (after == "0") after = "0-0";
    if (!after.empty() && !isStreamId(after)) {
      return sendError(errorResponse(400, "invalid_parameter", "after must be a cursor this API returned", "after"));
    }
    if (!subscription) {
      // A broadcast channel: public data (the same as GET /v1/reports), no token.
      HttpResponse refused;
      auto name = broadcastChannelName(query, refused);
      if (!name) return sendError(std::move(refused));
      return startLive(std::move(req), core::live::broadcastStream(*name), after);
    }
    std::string token = query["token"];
    const std::string auth = r.header("authorization");
    if (auth.size() > 7 && (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) token = auth.substr(7);
    const std::string id = params["id"];
    net::post(shared_->workers, [self = shared_from_this(), req = std::move(req), id, token, after]() mutable {
      auto denied = self->shared_->live.authorize(id, token);
      net::post(self->stream_.get_executor(), [self, req = std::move(req), id, after, denied = std::move(denied)]() mutable {
        if (denied) {
          if (self->shared_->metrics) self->shared_->metrics->request(kLivePattern, "GET", denied->status, 0);
          return self->sendError(std::move(*denied));
        }
        self->startLive(std::move(req), core::live::subscriptionStream(id), after);
      });
    });
  }

  void startLive(http::request<http::string_body> req, std::string feed, const std::string& after) {
    timer_.cancel();
    std::make_shared<WsSession>(stream_.release_socket(), shared_, shard_, std::move(feed), after)->run(std::move(req));
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
  std::size_t shard_;
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
  tcp::acceptor acceptor(*contexts[0]);
  beast::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  // Several API processes on one port (the kernel spreads connections over
  // them), e.g. when one process's descriptor limit is below the connections wanted.
  if (!ec && options.reusePort) acceptor.set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw core::ConfigError("cannot listen on " + options.host + ":" + std::to_string(port) + ": " + ec.message());
  }
  if (boundPort == 0) boundPort = acceptor.local_endpoint().port();
  acceptors.push_back(std::move(acceptor));
}

void HttpServer::Impl::accept(tcp::acceptor& acceptor) {
  const std::size_t shard = nextContext++ % contexts.size();
  acceptor.async_accept(contexts[shard]->get_executor(), [self = shared_from_this(), &acceptor, shard](
                                                              beast::error_code ec, tcp::socket socket) {
    if (self->stopped) return;
    if (!ec) {
      // Every socket, HTTP or WebSocket: an alert or a 202 leaves at once
      // instead of waiting for the previous segment's ACK (Nagle).
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<HttpSession>(std::move(socket), self, shard)->run();
    } else if (ec == net::error::operation_aborted) {
      return;
    } else {
      // EMFILE/ENFILE: out of descriptors (see docs/operations.md, LimitNOFILE);
      // back off a little instead of spinning on the same error.
      core::log::warn("accept_failed", {{"message", ec.message()}});
      if (ec == net::error::no_descriptors || ec.value() == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(50));
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
  std::vector<AlertHub::Executor> shards;
  for (auto& ctx : impl_->contexts) {
    shards.push_back([ex = ctx->get_executor()](std::function<void()> task) { net::post(ex, std::move(task)); });
  }
  if (impl_->live.hub) impl_->live.hub->setShards(std::move(shards));
  for (auto& ctx : impl_->contexts) {
    impl_->threads.emplace_back([impl = impl_, ctx = ctx.get()] {
      for (;;) {
        try {
          ctx->run();
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
  for (auto& ctx : impl_->contexts) ctx->stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->workers.join();  // their replies are posted to the stopped context and dropped
  beast::error_code ec;
  for (auto& a : impl_->acceptors) a.close(ec);
  if (impl_->live.hub) impl_->live.hub->clear();  // the sessions it held can go
}

int HttpServer::port() const { return impl_->boundPort; }

}  // namespace safestream::api
