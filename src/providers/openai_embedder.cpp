#include "ivr/providers/openai_embedder.hpp"

#include <cmath>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "http_errors.hpp"
#include "ivr/net/http_client.hpp"
#include "tts_common.hpp"

namespace ivr::providers {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "openai embeddings";

bool retryable(const boost::system::error_code& ec) {
  return ec == Errc::timeout || ec == Errc::unavailable || ec == Errc::rate_limited ||
         ec == Errc::upstream_error;
}

class OpenAiEmbedder final : public knowledge::Embedder {
 public:
  OpenAiEmbedder(net::HttpClient& http, OpenAiEmbedderSettings settings)
      : http_(http),
        settings_(std::move(settings)),
        url_(tts_detail::api_root(settings_.base_url, "https://api.openai.com") + "/v1/embeddings") {}

  asio::awaitable<Result<std::vector<std::vector<float>>>> embed(std::vector<std::string> texts) override {
    if (texts.empty()) co_return std::vector<std::vector<float>>{};
    nlohmann::json body = {{"model", settings_.model}, {"input", texts}, {"encoding_format", "float"}};
    if (settings_.model.starts_with("text-embedding-3")) body["dimensions"] = settings_.dimension;
    const std::string payload = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

    boost::system::error_code last;
    for (int attempt = 0; attempt < std::max(1, settings_.max_attempts); ++attempt) {
      if (attempt > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(settings_.first_backoff * (1 << std::min(attempt - 1, 8)));
        boost::system::error_code ignored;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
      net::ClientRequest request;
      request.method = "POST";
      request.url = url_;
      request.headers.set("Content-Type", "application/json");
      if (!settings_.api_key.empty()) request.headers.set("Authorization", "Bearer " + settings_.api_key);
      request.body = payload;
      request.total_timeout = settings_.timeout;
      Result<net::ClientResponse> sent = co_await http_.send(std::move(request));
      // A 4xx other than 408/429 (bad key, unknown model, input too long) will not get better by asking
      // again.
      const bool client_error =
          sent && sent->status >= 400 && sent->status < 500 && sent->status != 408 && sent->status != 429;
      Result<net::ClientResponse> checked =
          http_errors::check_response(std::move(sent), kName, settings_.api_key);
      if (!checked) {
        last = checked.error();
        if (client_error || !retryable(last)) co_return last;
        continue;
      }
      Result<std::vector<std::vector<float>>> parsed = parse(checked->body, texts.size());
      if (parsed) co_return parsed;
      co_return parsed.error();  // a well-formed but unusable answer is not retried
    }
    co_return last;
  }

  int dimension() const override { return settings_.dimension; }
  std::string model() const override { return settings_.model + "/" + std::to_string(settings_.dimension); }

 private:
  // {"data":[{"index":0,"embedding":[…]}, …]}: one vector per input, placed by "index".
  Result<std::vector<std::vector<float>>> parse(const std::string& text, std::size_t expected) const {
    const nlohmann::json answer = nlohmann::json::parse(text, nullptr, false);
    if (!answer.is_object() || !answer.contains("data") || !answer["data"].is_array()) {
      return http_errors::unusable_answer(kName, "no data array", text, settings_.api_key);
    }
    std::vector<std::vector<float>> vectors(expected);
    std::size_t filled = 0;
    for (const auto& item : answer["data"]) {
      if (!item.is_object() || !item.contains("embedding") || !item["embedding"].is_array()) {
        return http_errors::unusable_answer(kName, "an item without an embedding", text, settings_.api_key);
      }
      const auto index = item.value("index", static_cast<std::int64_t>(filled));
      if (index < 0 || static_cast<std::size_t>(index) >= expected || !vectors[index].empty()) {
        return http_errors::unusable_answer(kName, "an index out of range or repeated", text,
                                            settings_.api_key);
      }
      const auto& values = item["embedding"];
      if (static_cast<int>(values.size()) != settings_.dimension) {
        return http_errors::unusable_answer(kName,
                                            "vectors of " + std::to_string(values.size()) +
                                                " dimensions, configured " +
                                                std::to_string(settings_.dimension),
                                            "", settings_.api_key);
      }
      std::vector<float>& v = vectors[index];
      v.reserve(values.size());
      double norm = 0;
      for (const auto& x : values) {
        if (!x.is_number())
          return http_errors::unusable_answer(kName, "a non-numeric value", "", settings_.api_key);
        v.push_back(x.get<float>());
        norm += static_cast<double>(v.back()) * v.back();
      }
      if (norm > 0) {
        const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
        for (float& x : v) x *= inv;
      }
      ++filled;
    }
    if (filled != expected) {
      return http_errors::unusable_answer(
          kName, std::to_string(filled) + " vectors for " + std::to_string(expected) + " texts", "",
          settings_.api_key);
    }
    return vectors;
  }

  net::HttpClient& http_;
  OpenAiEmbedderSettings settings_;
  std::string url_;
};

}  // namespace

std::unique_ptr<knowledge::Embedder> make_openai_embedder(net::HttpClient& http,
                                                          OpenAiEmbedderSettings settings) {
  return std::make_unique<OpenAiEmbedder>(http, std::move(settings));
}

}  // namespace ivr::providers
