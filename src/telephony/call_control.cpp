#include "ivr/telephony/call_control.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "ivr/core/logging.hpp"

namespace ivr::telephony {
namespace {

bool is_control_or_space(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= ' ' || u == 0x7f;
}

// One argument of a space-separated api command line: non-empty, no whitespace, no control characters.
bool valid_word(std::string_view text) {
  return !text.empty() && text.size() <= 1024 && std::none_of(text.begin(), text.end(), is_control_or_space);
}

// FreeSWITCH uuids are 36-character UUIDs, but a channel may be given any uuid at origination: accept
// letters, digits, '-', '_' and '.'.
bool valid_uuid(std::string_view uuid) {
  return !uuid.empty() && uuid.size() <= 128 && std::all_of(uuid.begin(), uuid.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '-' || c == '_' || c == '.';
  });
}

// The last argument of uuid_setvar takes the rest of the line: spaces are fine, line breaks are not.
bool valid_tail(std::string_view text) {
  return text.size() <= 4096 && text.find_first_of("\r\n") == std::string_view::npos &&
         std::none_of(text.begin(), text.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u < ' ' && c != '\t';
         });
}

Result<std::string> bad_request() {
  return make_error_code(Errc::bad_request);
}

class EslCallControl final : public CallControl {
 public:
  explicit EslCallControl(EslClient& client) : client_(client), log_(module_logger("telephony")) {}

  boost::asio::awaitable<Result<void>> transfer(std::string uuid, std::string extension,
                                                std::string context) override {
    Result<std::string> line = transfer_command(uuid, extension, context);
    co_return co_await run(std::move(line), uuid);
  }
  boost::asio::awaitable<Result<void>> hangup(std::string uuid, std::string cause) override {
    Result<std::string> line = hangup_command(uuid, cause);
    co_return co_await run(std::move(line), uuid);
  }
  boost::asio::awaitable<Result<void>> stop_playback(std::string uuid) override {
    Result<std::string> line = break_command(uuid);
    co_return co_await run(std::move(line), uuid);
  }
  boost::asio::awaitable<Result<void>> play(std::string uuid, std::string path) override {
    Result<std::string> line = broadcast_command(uuid, path);
    co_return co_await run(std::move(line), uuid);
  }
  boost::asio::awaitable<Result<void>> set_variable(std::string uuid, std::string name,
                                                    std::string value) override {
    Result<std::string> line = setvar_command(uuid, name, value);
    co_return co_await run(std::move(line), uuid);
  }

 private:
  boost::asio::awaitable<Result<void>> run(Result<std::string> line, std::string uuid) {
    if (!line) co_return line.error();
    const std::string name = line->substr(0, line->find(' '));
    Result<std::string> body = co_await client_.api(std::move(*line));
    if (!body) co_return body.error();
    Result<void> outcome = api_outcome(*body);
    if (!outcome) {
      // The body is FreeSWITCH's own one-line error; it holds no secrets.
      const LogContext ctx{{}, {}, uuid};
      log_->warn("{} esl[{}]: {} refused: {}", ctx, client_.node().name, name,
                 parse_reply_status(*body).text);
    }
    co_return outcome;
  }

  EslClient& client_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

Result<std::string> transfer_command(std::string_view uuid, std::string_view extension,
                                     std::string_view context) {
  if (!valid_uuid(uuid) || !valid_word(extension) || !valid_word(context)) return bad_request();
  std::string line = "uuid_transfer ";
  line.append(uuid).append(" ").append(extension).append(" XML ").append(context);
  return line;
}

Result<std::string> hangup_command(std::string_view uuid, std::string_view cause) {
  if (!valid_uuid(uuid) || (!cause.empty() && !valid_word(cause))) return bad_request();
  std::string line = "uuid_kill ";
  line.append(uuid);
  if (!cause.empty()) line.append(" ").append(cause);
  return line;
}

Result<std::string> break_command(std::string_view uuid) {
  if (!valid_uuid(uuid)) return bad_request();
  std::string line = "uuid_break ";
  line.append(uuid).append(" all");
  return line;
}

Result<std::string> broadcast_command(std::string_view uuid, std::string_view path) {
  if (!valid_uuid(uuid) || !valid_word(path)) return bad_request();
  std::string line = "uuid_broadcast ";
  line.append(uuid).append(" ").append(path).append(" aleg");
  return line;
}

Result<std::string> setvar_command(std::string_view uuid, std::string_view name, std::string_view value) {
  if (!valid_uuid(uuid) || !valid_word(name) || !valid_tail(value)) return bad_request();
  std::string line = "uuid_setvar ";
  line.append(uuid).append(" ").append(name);
  if (!value.empty()) line.append(" ").append(value);
  return line;
}

Result<void> api_outcome(std::string_view body) {
  const EslReplyStatus status = parse_reply_status(body);
  if (status.ok) return {};
  std::string lower = status.text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (body.substr(0, 4) == "-ERR" && lower.find("no such channel") != std::string::npos) {
    return make_error_code(Errc::not_found);
  }
  return make_error_code(Errc::upstream_error);
}

std::unique_ptr<CallControl> make_esl_call_control(EslClient& client) {
  return std::make_unique<EslCallControl>(client);
}

EslClient::HandlerId on_channel_hangup(
    EslClient& client, std::function<void(std::string_view unique_id, const EslEvent& event)> handler) {
  return client.add_event_handler([handler = std::move(handler)](const EslEvent& event) {
    if (event.name == "CHANNEL_HANGUP_COMPLETE" && !event.unique_id().empty())
      handler(event.unique_id(), event);
  });
}

}  // namespace ivr::telephony
