#include "fakes/fake_esl_server.hpp"

#include <cctype>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

namespace ivr::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr std::string_view kDisconnectText =
    "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";

// switch_url_encode keeps alphanumerics and "-_.!~*'()" ; the client decodes any %XX, so encoding a little
// more than FreeSWITCH does is harmless and keeps the fake simple.
std::string url_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string header_value(const EslHeaderList& headers, const std::string& name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

std::string first_word(const std::string& text) {
  return text.substr(0, text.find(' '));
}

struct Session : std::enable_shared_from_this<Session> {
  explicit Session(tcp::socket s) : socket(std::move(s)) {}

  void send(std::string bytes, bool close_after = false) {
    if (closed) return;
    out.push_back(std::move(bytes));
    if (close_after) close_after_flush = true;
    if (!writing) write_next();
  }

  void write_next() {
    if (out.empty()) {
      writing = false;
      if (close_after_flush) close();
      return;
    }
    writing = true;
    auto data = std::make_shared<std::string>(std::move(out.front()));
    out.pop_front();
    asio::async_write(socket, asio::buffer(*data),
                      [self = shared_from_this(), data](boost::system::error_code ec, std::size_t) {
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->write_next();
                      });
  }

  void close() {
    closed = true;
    out.clear();
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  bool subscribed_to(const std::string& name, const std::string& subclass) const {
    if (events.count("ALL")) return true;
    if (name == "CUSTOM") return events.count("CUSTOM") && subclasses.count(subclass);
    return events.count(name) > 0;
  }

  tcp::socket socket;
  std::deque<std::string> out;
  bool writing = false;
  bool close_after_flush = false;
  bool closed = false;
  bool authed = false;
  bool json = false;
  std::set<std::string> events;
  std::set<std::string> subclasses;
};

}  // namespace

struct FakeEslServer::Impl {
  explicit Impl(std::string pw) : password(std::move(pw)) {}

  asio::io_context io{1};
  std::optional<tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::thread thread;
  std::string password;
  std::vector<std::shared_ptr<Session>> sessions;  // server thread only

  mutable std::mutex mutex;  // guards everything below
  std::map<std::string, std::string> api_responses;
  std::map<std::string, std::chrono::milliseconds> api_delays;
  std::set<std::string> close_mid;
  std::chrono::milliseconds bgapi_delay{0};
  std::vector<std::string> recorded;
  std::size_t accepted = 0;
  std::size_t authenticated = 0;
  std::uint64_t next_job = 1;

  void listen(std::uint16_t on_port) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), on_port);
    acceptor.emplace(io);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen();
    port = acceptor->local_endpoint().port();
    asio::co_spawn(io, accept_loop(), asio::detached);
  }

  asio::awaitable<void> accept_loop() {
    tcp::acceptor& current = *acceptor;
    for (;;) {
      auto [ec, socket] = co_await current.async_accept(as_tuple(use_awaitable));
      if (ec) co_return;
      {
        std::lock_guard lock(mutex);
        ++accepted;
      }
      auto session = std::make_shared<Session>(std::move(socket));
      sessions.push_back(session);
      asio::co_spawn(io, serve(session), asio::detached);
    }
  }

  std::string response_for(const std::string& name) {
    std::lock_guard lock(mutex);
    auto it = api_responses.find(name);
    return it == api_responses.end() ? std::string("+OK\n") : it->second;
  }

  asio::awaitable<void> serve(std::shared_ptr<Session> session) {
    session->send(command_reply_bytes_raw("Content-Type: auth/request\n\n"));
    std::string buffer;
    asio::steady_timer timer(io);
    while (!session->closed) {
      auto [ec, n] = co_await asio::async_read_until(session->socket, asio::dynamic_buffer(buffer), "\n\n",
                                                     as_tuple(use_awaitable));
      if (ec) break;
      std::string block = buffer.substr(0, n - 2);
      buffer.erase(0, n);
      std::string line = block.substr(0, block.find('\n'));
      if (!line.empty() && line.back() == '\r') line.pop_back();
      {
        std::lock_guard lock(mutex);
        recorded.push_back(line);
      }
      co_await handle(*session, line, timer);
    }
    session->close();
    std::erase(sessions, session);
  }

  static std::string command_reply_bytes_raw(std::string bytes) { return bytes; }

  asio::awaitable<void> handle(Session& session, const std::string& line, asio::steady_timer& timer) {
    if (!session.authed) {
      if (line.rfind("auth ", 0) == 0) {
        if (line.substr(5) == password) {
          session.authed = true;
          {
            std::lock_guard lock(mutex);
            ++authenticated;
          }
          session.send(command_reply_bytes("+OK accepted"));
        } else {
          session.send(command_reply_bytes("-ERR invalid"));
          session.send(disconnect_bytes(), /*close_after=*/true);
        }
      } else {
        session.send(command_reply_bytes("-ERR command not found"));
      }
      co_return;
    }
    if (line.rfind("api ", 0) == 0) {
      const std::string cmd = line.substr(4);
      const std::string name = first_word(cmd);
      std::chrono::milliseconds delay{0};
      bool cut = false;
      {
        std::lock_guard lock(mutex);
        if (auto it = api_delays.find(name); it != api_delays.end()) delay = it->second;
        cut = close_mid.erase(name) > 0;
      }
      if (delay.count() > 0) {
        timer.expires_after(delay);
        co_await timer.async_wait(as_tuple(use_awaitable));
      }
      const std::string body = response_for(name);
      if (cut) {
        std::string whole = api_response_bytes(body);
        const std::size_t header_end = whole.find("\n\n") + 2;
        session.send(whole.substr(0, header_end + body.size() / 2), /*close_after=*/true);
        co_return;
      }
      session.send(api_response_bytes(body));
      co_return;
    }
    if (line.rfind("bgapi ", 0) == 0) {
      const std::string cmd = line.substr(6);
      std::string job;
      std::chrono::milliseconds delay;
      {
        std::lock_guard lock(mutex);
        job = "7f4de4bc-17d7-11dd-b7a0-" + std::to_string(100000000000 + next_job++);
        delay = bgapi_delay;
      }
      session.send("Content-Type: command/reply\nReply-Text: +OK Job-UUID: " + job + "\nJob-UUID: " + job +
                   "\n\n");
      const std::string name = first_word(cmd);
      const std::string arg = cmd.size() > name.size() ? cmd.substr(name.size() + 1) : std::string();
      EslHeaderList headers = {{"Event-Name", "BACKGROUND_JOB"},
                               {"Core-UUID", "2130a7d1-c1f7-44cd-8fae-8ed5946f3cec"},
                               {"Event-Calling-Function", "api_exec"},
                               {"Job-UUID", job},
                               {"Job-Command", name},
                               {"Job-Command-Arg", arg}};
      if (delay.count() > 0) {
        timer.expires_after(delay);
        co_await timer.async_wait(as_tuple(use_awaitable));
      }
      if (session.subscribed_to("BACKGROUND_JOB", "")) {
        const std::string body = response_for(name);
        session.send(session.json ? json_event_bytes(headers, body) : plain_event_bytes(headers, body));
      }
      co_return;
    }
    if (line.rfind("event ", 0) == 0) {
      std::istringstream words(line.substr(6));
      std::string format;
      words >> format;
      if (format != "plain" && format != "json") {
        session.send(command_reply_bytes("-ERR invalid format"));
        co_return;
      }
      session.json = format == "json";
      bool custom = false;
      for (std::string word; words >> word;) {
        if (custom) {
          session.subclasses.insert(word);
        } else {
          session.events.insert(word);
          custom = word == "CUSTOM";
        }
      }
      session.send(command_reply_bytes("+OK event listener enabled " + format));
      co_return;
    }
    session.send(command_reply_bytes("-ERR command not found"));
  }

  static std::string disconnect_bytes() {
    return "Content-Type: text/disconnect-notice\nContent-Length: " + std::to_string(kDisconnectText.size()) +
           "\n\n" + std::string(kDisconnectText);
  }

  // Runs `fn` on the server thread and waits for it.
  template <class Fn>
  void on_server(Fn fn) {
    std::promise<void> done;
    asio::post(io, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
};

std::string FakeEslServer::plain_event_bytes(const EslHeaderList& headers, const std::string& body) {
  std::string block;
  for (const auto& [name, value] : headers) block += name + ": " + url_encode(value) + "\n";
  if (!body.empty()) {
    block += "Content-Length: " + std::to_string(body.size()) + "\n\n" + body;
  } else {
    block += "\n";
  }
  return "Content-Length: " + std::to_string(block.size()) + "\nContent-Type: text/event-plain\n\n" + block;
}

std::string FakeEslServer::json_event_bytes(const EslHeaderList& headers, const std::string& body) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  for (const auto& [name, value] : headers) doc[name] = value;
  if (!body.empty()) {
    doc["Content-Length"] = std::to_string(body.size());
    doc["_body"] = body;
  }
  const std::string text = doc.dump();
  return "Content-Length: " + std::to_string(text.size()) + "\nContent-Type: text/event-json\n\n" + text;
}

std::string FakeEslServer::api_response_bytes(const std::string& body) {
  return "Content-Type: api/response\nContent-Length: " + std::to_string(body.size()) + "\n\n" + body;
}

std::string FakeEslServer::command_reply_bytes(const std::string& reply_text) {
  return "Content-Type: command/reply\nReply-Text: " + reply_text + "\n\n";
}

FakeEslServer::FakeEslServer(std::string password) : impl_(std::make_shared<Impl>(std::move(password))) {
  impl_->listen(0);
  impl_->thread = std::thread([impl = impl_] { impl->io.run(); });
}

FakeEslServer::~FakeEslServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t FakeEslServer::port() const {
  return impl_->port;
}

void FakeEslServer::stop() {
  impl_->on_server([impl = impl_.get()] {
    if (impl->acceptor) {
      boost::system::error_code ignored;
      impl->acceptor->close(ignored);
    }
    for (auto& session : impl->sessions) session->close();
  });
}

void FakeEslServer::restart() {
  impl_->on_server([impl = impl_.get()] { impl->listen(impl->port); });
}

void FakeEslServer::set_api_response(std::string name, std::string body) {
  std::lock_guard lock(impl_->mutex);
  impl_->api_responses[std::move(name)] = std::move(body);
}

void FakeEslServer::set_api_delay(std::string name, std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->mutex);
  impl_->api_delays[std::move(name)] = delay;
}

void FakeEslServer::close_mid_reply(std::string name) {
  std::lock_guard lock(impl_->mutex);
  impl_->close_mid.insert(std::move(name));
}

void FakeEslServer::set_bgapi_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->mutex);
  impl_->bgapi_delay = delay;
}

std::vector<std::string> FakeEslServer::commands() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->recorded;
}

std::size_t FakeEslServer::connections_accepted() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

std::size_t FakeEslServer::connections_authenticated() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->authenticated;
}

std::size_t FakeEslServer::subscribed_connections() const {
  std::size_t count = 0;
  impl_->on_server([&count, impl = impl_.get()] {
    for (const auto& session : impl->sessions) {
      if (session->authed && !session->closed && !session->events.empty()) ++count;
    }
  });
  return count;
}

void FakeEslServer::push_event(EslHeaderList headers, std::string body) {
  impl_->on_server([&, impl = impl_.get()] {
    const std::string name = header_value(headers, "Event-Name");
    const std::string subclass = header_value(headers, "Event-Subclass");
    for (auto& session : impl->sessions) {
      if (!session->authed || !session->subscribed_to(name, subclass)) continue;
      session->send(session->json ? json_event_bytes(headers, body) : plain_event_bytes(headers, body));
    }
  });
}

void FakeEslServer::push_raw(std::string bytes) {
  impl_->on_server([&, impl = impl_.get()] {
    for (auto& session : impl->sessions) session->send(bytes);
  });
}

}  // namespace ivr::test
