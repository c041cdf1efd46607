#include "ivr/net/http_client.hpp"

#include "ivr/core/logging.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/assert.hpp>

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

// How this works (see STYLE.md, "Async rules"):
//  - One CURLM per client. curl tells us which sockets it wants watched (CURLMOPT_SOCKETFUNCTION); we
//    watch each with a NON-OWNING posix::stream_descriptor (released, never closed: curl owns the fd) and
//    re-armed async_wait(wait_read / wait_write). curl's one timeout drives one steady_timer.
//  - Readiness and timeouts call curl_multi_socket_action, then curl_multi_info_read; finished transfers
//    are removed right there (we are never inside a curl callback at that point) and the awaiting
//    coroutine is resumed through a post to its executor.
//  - Everything that may be triggered from inside a curl callback (a new send started from on_body_chunk,
//    a cancellation emitted from one) is posted first, so curl is never re-entered.
//  - Nothing asynchronous holds a raw Impl*: handlers hold weak pointers (to the Impl's liveness token or
//    to a socket's state, which only the Impl owns) and do nothing once those have gone.
// Redirects are NOT followed: provider APIs do not redirect, and following one would resend credentials
// (Authorization, x-api-key) to wherever the Location points. A 3xx comes back as a response.

namespace ivr::net {
namespace {

namespace asio = boost::asio;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  });
}

// Scheme and host of a URL for logs: the rest may carry keys (e.g. "?key=…").
std::string_view log_host(std::string_view url) {
  std::size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  std::string_view rest = url.substr(start);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  return rest;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || std::strchr("\"(),/:;<=>?@[\\]{}", c) != nullptr) return false;
  }
  return true;
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// Type-erased completion handler of one send(). asio 1.81 has no any_completion_handler.
class Completion {
 public:
  virtual ~Completion() = default;
  // Posts the handler with `result` to its executor; never invokes it inline.
  virtual void complete(Result<ClientResponse> result) = 0;
  virtual asio::cancellation_slot cancellation_slot() const = 0;
};

template <class Handler>
class CompletionFor final : public Completion {
 public:
  CompletionFor(Handler handler, const asio::io_context::executor_type& fallback)
      : work_(asio::make_work_guard(handler, fallback)), handler_(std::move(handler)) {}

  void complete(Result<ClientResponse> result) override {
    auto ex = work_.get_executor();
    asio::post(ex, [handler = std::move(handler_), result = std::move(result)]() mutable {
      std::move(handler)(std::move(result));
    });
    work_.reset();
  }

  asio::cancellation_slot cancellation_slot() const override {
    return asio::get_associated_cancellation_slot(handler_);
  }

 private:
  asio::executor_work_guard<asio::associated_executor_t<Handler, asio::io_context::executor_type>> work_;
  Handler handler_;
};

}  // namespace

class HttpClient::Impl {
 public:
  explicit Impl(asio::io_context& io) : io_(io), timer_(io), log_(module_logger("http_client")) {
    global_init();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }

  ~Impl() {
    // From here on, queued handlers that still point at us (timer, posts, socket waits) do nothing.
    self_.reset();
    std::vector<std::uint64_t> ids;
    ids.reserve(transfers_.size());
    for (const auto& [id, transfer] : transfers_) ids.push_back(id);
    for (const auto id : ids) finish(id, Errc::cancelled);
    timer_.cancel();
    // Closes the cached connections, through on_close_socket while our socket map still exists.
    curl_multi_cleanup(multi_);
    for (auto& [fd, state] : sockets_) forget(*state);
    sockets_.clear();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  asio::io_context& io() { return io_; }
  std::size_t in_flight() const { return transfers_.size(); }

  void start(std::unique_ptr<Completion> completion, ClientRequest request) {
    BOOST_ASSERT(io_.get_executor().running_in_this_thread());
    const std::uint64_t id = next_id_++;
    auto transfer = std::make_unique<Transfer>();
    transfer->id = id;
    transfer->request = std::move(request);
    transfer->completion = std::move(completion);
    transfer->slot = transfer->completion->cancellation_slot();
    if (transfer->slot.is_connected()) {
      transfer->slot.assign([weak = std::weak_ptr<Impl>(self_), id](asio::cancellation_type type) {
        if (type == asio::cancellation_type::none) return;
        // We may be inside a curl callback (on_body_chunk cancelled something): never touch curl here.
        if (auto self = weak.lock()) {
          asio::post(self->io_, [weak, id] {
            if (auto impl = weak.lock()) impl->finish(id, Errc::cancelled);
          });
        }
      });
    }
    transfers_.emplace(id, std::move(transfer));
    // Adding the easy handle is posted too: send() may be called from inside a curl callback.
    asio::post(io_, [weak = std::weak_ptr<Impl>(self_), id] {
      if (auto impl = weak.lock()) impl->add(id);
    });
  }

 private:
  struct Transfer {
    std::uint64_t id = 0;
    CURL* easy = nullptr;
    curl_slist* header_list = nullptr;
    bool added = false;
    ClientRequest request;
    ClientResponse response;
    std::size_t received = 0;
    bool too_large = false;
    bool consumer_stopped = false;
    bool in_header_block = false;
    char error_text[CURL_ERROR_SIZE] = {};
    asio::cancellation_slot slot;
    std::unique_ptr<Completion> completion;
  };

  struct SocketState {
    SocketState(asio::io_context& io, curl_socket_t s) : fd(s), descriptor(io, s) {}
    curl_socket_t fd;
    asio::posix::stream_descriptor descriptor;  // non-owning: always release()d, curl closes the fd
    int wanted = 0;                             // CURL_POLL_IN / OUT / INOUT
    bool reading = false;                       // an async_wait(wait_read) is pending
    bool writing = false;
    bool gone = false;  // curl removed or closed it; pending waits must not call curl for it
    Impl* owner = nullptr;
  };

  // ---- starting and finishing transfers (io thread, never inside a curl callback) ----

  void add(std::uint64_t id) {
    const auto it = transfers_.find(id);
    if (it == transfers_.end()) return;  // cancelled before it started
    Transfer& t = *it->second;
    if (const auto error = configure(t)) {
      finish(id, *error);
      return;
    }
    const CURLMcode rc = curl_multi_add_handle(multi_, t.easy);
    if (rc != CURLM_OK) {
      log_->error("curl_multi_add_handle failed: {}", curl_multi_strerror(rc));
      finish(id, Errc::internal);
      return;
    }
    t.added = true;
  }

  // Builds the easy handle. Returns an error for a request we must not send.
  std::optional<Errc> configure(Transfer& t) {
    const ClientRequest& r = t.request;
    if (!is_token(r.method)) {
      log_->error("refusing request with invalid method to {}", log_host(r.url));
      return Errc::internal;
    }
    t.easy = curl_easy_init();
    if (t.easy == nullptr) return Errc::internal;
    CURL* e = t.easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error_text);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.total_timeout.count()));
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every encoding curl decodes; body arrives decoded
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r.verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r.verify_tls ? 2L : 0L);
    // A declared Content-Length over the limit fails before any byte is read.
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_response_bytes));
    // CURLOPT_PROXY is deliberately left unset: curl then reads http_proxy / https_proxy / no_proxy.
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);

    if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (r.method == "GET" && r.body.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (r.body.empty() && r.method != "POST" && r.method != "PUT" && r.method != "PATCH") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());  // DELETE, OPTIONS… without a body
    } else {
      // The body stays alive in t.request until the handle is cleaned up: no copy.
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
      if (r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }

    for (const auto& field : r.headers.fields()) {
      if (!is_token(field.name) || has_line_break(field.value)) {
        // Never log the value: headers carry API keys.
        log_->error("refusing request to {}: malformed header {}", log_host(r.url), field.name);
        return Errc::internal;
      }
      // "Name;" is curl's way to send a header with an empty value ("Name:" would remove it).
      const std::string line = field.value.empty() ? field.name + ";" : field.name + ": " + field.value;
      if (!append_header(t, line.c_str())) return Errc::internal;
    }
    // curl's own defaults we do not want unless the caller asked: "Expect: 100-continue" costs a round
    // trip (or a second with servers that ignore it) and a form Content-Type would be a lie.
    if (!r.headers.contains("Expect") && !append_header(t, "Expect:")) return Errc::internal;
    if (!r.headers.contains("Content-Type") && !append_header(t, "Content-Type:")) return Errc::internal;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list);
    return std::nullopt;
  }

  static bool append_header(Transfer& t, const char* line) {
    curl_slist* list = curl_slist_append(t.header_list, line);
    if (list == nullptr) return false;  // out of memory; the old list is still ours to free
    t.header_list = list;
    return true;
  }

  // Removes the transfer, frees curl's objects and posts the completion. Safe for unknown ids.
  void finish(std::uint64_t id, Result<ClientResponse> result) {
    const auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    if (t->easy != nullptr) {
      if (t->added) curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->header_list);
    if (t->slot.is_connected()) t->slot.clear();
    t->completion->complete(std::move(result));
  }

  Result<ClientResponse> outcome(Transfer& t, CURLcode code) {
    const std::string_view host = log_host(t.request.url);
    const char* detail = t.error_text[0] != '\0' ? t.error_text : curl_easy_strerror(code);
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
      t.response.status = static_cast<int>(status);
      return std::move(t.response);
    }
    if (t.too_large || code == CURLE_FILESIZE_EXCEEDED) {
      log_->warn("{} {}: response larger than {} bytes", t.request.method, host,
                 t.request.max_response_bytes);
      return Errc::payload_too_large;
    }
    if (t.consumer_stopped) {
      log_->debug("{} {}: stopped by the body consumer", t.request.method, host);
      return Errc::cancelled;
    }
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT:
        log_->warn("{} {}: timed out: {}", t.request.method, host, detail);
        return Errc::timeout;
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_CONNECT:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ENGINE_NOTFOUND:
      case CURLE_SSL_ENGINE_SETFAILED:
      case CURLE_SSL_ENGINE_INITFAILED:
      case CURLE_SSL_SHUTDOWN_FAILED:
      case CURLE_SSL_CRL_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
      case CURLE_SSL_CLIENTCERT:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
      case CURLE_HTTP3:
      case CURLE_QUIC_CONNECT_ERROR:
      case CURLE_PROXY:
        log_->warn("{} {}: unavailable: {}", t.request.method, host, detail);
        return Errc::unavailable;
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_BAD_FUNCTION_ARGUMENT:
      case CURLE_OUT_OF_MEMORY:
        // Our request (usually its configured URL) is wrong, not the upstream.
        log_->error("{} {}: request rejected by curl: {}", t.request.method, host, detail);
        return Errc::internal;
      default:
        // Protocol violations and undecodable bodies: the upstream answered, but wrongly.
        log_->warn("{} {}: upstream error: {}", t.request.method, host, detail);
        return Errc::upstream_error;
    }
  }

  // ---- driving curl ----

  void socket_action(curl_socket_t fd, int events) {
    int running = 0;
    const CURLMcode rc = curl_multi_socket_action(multi_, fd, events, &running);
    if (rc != CURLM_OK) log_->error("curl_multi_socket_action failed: {}", curl_multi_strerror(rc));
    drain_finished();
  }

  void drain_finished() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      // Copy out before finish(): removing the handle invalidates msg.
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      Transfer* t = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
      if (t == nullptr) continue;
      finish(t->id, outcome(*t, code));
    }
  }

  void arm(const std::shared_ptr<SocketState>& state) {
    if ((state->wanted & CURL_POLL_IN) != 0 && !state->reading) {
      state->reading = true;
      state->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                   [weak = std::weak_ptr<SocketState>(state)](boost::system::error_code ec) {
                                     on_ready(weak, CURL_POLL_IN, ec);
                                   });
    }
    if ((state->wanted & CURL_POLL_OUT) != 0 && !state->writing) {
      state->writing = true;
      state->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                   [weak = std::weak_ptr<SocketState>(state)](boost::system::error_code ec) {
                                     on_ready(weak, CURL_POLL_OUT, ec);
                                   });
    }
  }

  // A socket wait completed. `weak` expires when curl dropped the socket or the client was destroyed
  // (only the Impl owns socket states), so a stale wait never reaches curl.
  static void on_ready(const std::weak_ptr<SocketState>& weak, int direction, boost::system::error_code ec) {
    const std::shared_ptr<SocketState> state = weak.lock();
    if (!state) return;
    (direction == CURL_POLL_IN ? state->reading : state->writing) = false;
    if (state->gone || ec == asio::error::operation_aborted) return;
    if ((state->wanted & direction) == 0) return;  // curl changed its mind while we waited
    Impl* self = state->owner;
    int events = direction == CURL_POLL_IN ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
    if (ec) events = CURL_CSELECT_ERR;
    self->socket_action(state->fd, events);
    // curl only calls on_socket when what it wants changes: keep waiting while it still wants this.
    if (!state->gone) self->arm(state);
  }

  // Stops watching without closing: the fd belongs to curl.
  static void forget(SocketState& state) {
    state.gone = true;
    boost::system::error_code ignored;
    state.descriptor.cancel(ignored);
    (void)state.descriptor.release();
  }

  void drop_socket(curl_socket_t fd) {
    const auto it = sockets_.find(fd);
    if (it == sockets_.end()) return;
    forget(*it->second);
    sockets_.erase(it);
  }

  // ---- curl callbacks: no curl_multi_* calls in here ----

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      self->drop_socket(fd);
      return 0;
    }
    try {
      auto& state = self->sockets_[fd];
      if (!state) {
        state = std::make_shared<SocketState>(self->io_, fd);
        state->owner = self;
      }
      state->wanted = what;
      self->arm(state);
      return 0;
    } catch (const std::exception& e) {
      // No exception may cross curl's C frames; -1 makes curl fail the transfers on this socket.
      self->sockets_.erase(fd);
      self->log_->error("cannot watch a curl socket: {}", e.what());
      return -1;
    }
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    self->timer_.cancel();
    if (timeout_ms < 0) return 0;
    auto on_expiry = [weak = std::weak_ptr<Impl>(self->self_)](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted) return;
      if (auto impl = weak.lock()) impl->socket_action(CURL_SOCKET_TIMEOUT, 0);
    };
    if (timeout_ms == 0) {
      // "Act now" – but not from inside curl: next turn of the loop.
      asio::post(self->io_, [on_expiry = std::move(on_expiry)]() mutable { on_expiry({}); });
      return 0;
    }
    self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer_.async_wait(std::move(on_expiry));
    return 0;
  }

  static int on_close_socket(void* clientp, curl_socket_t fd) {
    auto* self = static_cast<Impl*>(clientp);
    self->drop_socket(fd);  // deregister from epoll before the number can be reused
    return ::close(fd);
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* userp) {
    auto& t = *static_cast<Transfer*>(userp);
    const std::size_t n = size * count;
    const std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
      // A new status line: an interim (1xx) or proxy CONNECT response came before; keep only the last.
      t.response.headers = Headers{};
      t.in_header_block = true;
      return n;
    }
    const std::string_view content = trim(line);
    if (content.empty()) {
      t.in_header_block = false;
      return n;
    }
    if (!t.in_header_block) return n;                           // trailers: not part of the response headers
    if (line.front() == ' ' || line.front() == '\t') return n;  // obsolete line folding: ignored
    const auto colon = content.find(':');
    if (colon == std::string_view::npos) return n;
    t.response.headers.add(trim(content.substr(0, colon)), trim(content.substr(colon + 1)));
    return n;
  }

  static std::size_t on_write(char* data, std::size_t size, std::size_t count, void* userp) {
    auto& t = *static_cast<Transfer*>(userp);
    const std::size_t n = size * count;
    t.received += n;
    if (t.received > t.request.max_response_bytes) {
      t.too_large = true;
      return CURL_WRITEFUNC_ERROR;
    }
    if (t.request.on_body_chunk) {
      bool more = false;
      try {
        more = t.request.on_body_chunk(std::string_view(data, n));
      } catch (const std::exception& e) {
        module_logger("http_client")->error("body consumer threw: {}", e.what());
      } catch (...) {
        module_logger("http_client")->error("body consumer threw");
      }
      if (!more) {
        t.consumer_stopped = true;
        return CURL_WRITEFUNC_ERROR;
      }
      return n;
    }
    t.response.body.append(data, n);
    return n;
  }

  asio::io_context& io_;
  CURLM* multi_ = nullptr;
  asio::steady_timer timer_;
  std::shared_ptr<spdlog::logger> log_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Transfer>> transfers_;
  std::unordered_map<curl_socket_t, std::shared_ptr<SocketState>> sockets_;
  std::uint64_t next_id_ = 1;
  // Liveness token for queued handlers: a non-owning shared_ptr, reset first thing in ~Impl.
  std::shared_ptr<Impl> self_{this, [](Impl*) {}};
};

HttpClient::HttpClient(boost::asio::io_context& io) : impl_(std::make_unique<Impl>(io)) {}

HttpClient::~HttpClient() = default;

std::size_t HttpClient::in_flight() const {
  return impl_->in_flight();
}

boost::asio::awaitable<Result<ClientResponse>> HttpClient::send(ClientRequest request) {
  Impl* impl = impl_.get();
  auto initiation = [impl](auto handler, ClientRequest req) {
    using Handler = decltype(handler);
    impl->start(std::make_unique<CompletionFor<Handler>>(std::move(handler), impl->io().get_executor()),
                std::move(req));
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Result<ClientResponse>)>(
      std::move(initiation), boost::asio::use_awaitable, std::move(request));
}

}  // namespace ivr::net
