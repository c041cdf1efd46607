#pragma once
// Helpers shared by the telephony tests: a client wired to a FakeEslServer, and driving the io_context
// until a condition holds (the client's connection loop runs in the background, so tests wait on state,
// never on sleeps).

#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>

#include "fakes/fake_esl_server.hpp"
#include "ivr/telephony/esl_client.hpp"

namespace ivr::telephony::testing {

inline EslClientOptions options_for(const test::FakeEslServer& server, std::string password = "ClueCon") {
  EslClientOptions options;
  options.node.name = "pbx1";
  options.node.host = "127.0.0.1";
  options.node.port = server.port();
  options.node.password = std::move(password);
  options.connect_timeout = std::chrono::milliseconds(1'000);
  options.command_timeout = std::chrono::milliseconds(2'000);
  options.job_timeout = std::chrono::milliseconds(2'000);
  options.reconnect_min = std::chrono::milliseconds(20);
  options.reconnect_max = std::chrono::milliseconds(200);
  options.events = {"CHANNEL_HANGUP_COMPLETE"};
  options.subclasses = {"mod_audio_stream::play"};
  return options;
}

// Runs `io` until `done()` is true or `limit` passes; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(10));
  return done();
}

inline std::size_t count_prefix(const std::vector<std::string>& lines, std::string_view prefix) {
  std::size_t n = 0;
  for (const auto& line : lines) n += line.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

}  // namespace ivr::telephony::testing
