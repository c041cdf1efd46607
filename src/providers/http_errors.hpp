#pragma once
// Private to src/providers: the one mapping from a vendor HTTP exchange to our error codes, shared by every
// REST adapter (TTS, STT, LLM, embeddings). Header-only; includes spdlog (via logging.hpp), so include it
// from adapter .cpp files only.
//
//  - HttpClient errors pass through unchanged: timeout, unavailable, cancelled, payload_too_large (and
//    internal for a URL curl rejects, i.e. a configuration mistake).
//  - 2xx → the response.
//  - 429 → Errc::rate_limited; every other status (5xx, other 4xx, and 1xx/3xx, which curl does not follow
//    for us) → Errc::upstream_error. The status and the body, truncated to 300 bytes, go to the log.
//  - A 2xx answer the adapter cannot use (empty, unparseable, wrong shape) → unusable_answer():
//    Errc::upstream_error, logged the same way.
// Log lines never carry the API key (every occurrence in a body is redacted) nor request headers.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "ivr/core/errors.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/net/http_client.hpp"

namespace ivr::providers::http_errors {

inline constexpr std::size_t kLoggedBodyLimit = 300;

inline Errc error_for_status(int status) noexcept {
  return status == 429 ? Errc::rate_limited : Errc::upstream_error;
}

inline bool is_success(int status) noexcept {
  return status >= 200 && status <= 299;
}

// For logs: at most `limit` bytes of `body` (never cutting a UTF-8 sequence), every occurrence of `secret`
// replaced by "[redacted]" (secrets shorter than 4 bytes are not searched: they would mangle the text),
// control characters and invalid UTF-8 bytes as spaces / '?', "…" appended when cut.
inline std::string loggable_body(std::string_view body, std::string_view secret,
                                 std::size_t limit = kLoggedBodyLimit) {
  // Redact before cutting, over a window long enough that a key straddling the cut is still found.
  const std::size_t window = limit + secret.size() + 16;
  const bool cut_input = body.size() > window;
  std::string text(body.substr(0, std::min(body.size(), window)));
  if (secret.size() >= 4) {
    for (std::size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
      text.replace(pos, secret.size(), "[redacted]");
      pos += 10;
    }
  }
  std::string out;
  out.reserve(std::min(text.size(), limit) + 3);
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = c < 0x80                   ? 1
                    : (c >= 0xC2 && c <= 0xDF) ? 2
                    : (c >= 0xE0 && c <= 0xEF) ? 3
                    : (c >= 0xF0 && c <= 0xF4) ? 4
                                               : 0;
    bool valid = n > 0 && i + n <= text.size();
    for (std::size_t k = 1; valid && k < n; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (!valid && n > 0 && i + n > text.size() && cut_input) break;  // a sequence cut by the window
    const std::size_t width = valid ? n : 1;
    if (out.size() + width > limit) {
      out += "…";
      return out;
    }
    if (!valid) {
      out.push_back('?');
    } else if (c < 0x20 || c == 0x7F) {
      out.push_back(' ');
    } else {
      out.append(text, i, n);
    }
    i += width;
  }
  if (cut_input) out += "…";
  return out;
}

// Maps a finished exchange (see the header comment). `provider` names the adapter in the log ("openai tts").
inline Result<net::ClientResponse> check_response(Result<net::ClientResponse> sent, std::string_view provider,
                                                  std::string_view secret) {
  if (!sent) {
    // The HTTP client already logged the failure at warn; this line only ties it to the provider.
    module_logger("providers")->debug("{}: request failed: {}", provider, sent.error().message());
    return sent.error();
  }
  if (!is_success(sent->status)) {
    module_logger("providers")
        ->warn("{}: HTTP {}: {}", provider, sent->status, loggable_body(sent->body, secret));
    return make_error_code(error_for_status(sent->status));
  }
  return std::move(*sent);
}

// A 2xx answer the adapter cannot use: logs `what` and the body excerpt, returns Errc::upstream_error.
inline boost::system::error_code unusable_answer(std::string_view provider, std::string_view what,
                                                 std::string_view body, std::string_view secret) {
  module_logger("providers")
      ->warn("{}: unusable answer ({}): {}", provider, what, loggable_body(body, secret));
  return make_error_code(Errc::upstream_error);
}

}  // namespace ivr::providers::http_errors
