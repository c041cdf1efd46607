#include "tts_common.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "http_errors.hpp"
#include "ivr/audio/resampler.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/providers/sentences.hpp"

namespace ivr::providers::tts_detail {
namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n > text.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points beyond U+10FFFF.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

bool is_blank(std::string_view text) noexcept {
  // U+00A0 (no-break space) counts as blank too: "\xC2\xA0" alone says nothing.
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
    } else if (text.substr(i, 2) == "\xC2\xA0") {
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

boost::system::error_code validate_request(const SynthesisRequest& request, std::size_t max_chars) {
  if (request.sample_rate < kMinSampleRate || request.sample_rate > kMaxSampleRate)
    return Errc::unprocessable;
  if (!is_valid_utf8(request.text) || is_blank(request.text)) return Errc::unprocessable;
  if (utf8_length(request.text) > max_chars) return Errc::unprocessable;
  return {};
}

std::string api_root(std::string_view base_url, std::string_view default_url) {
  std::string_view root = base_url;
  while (!root.empty() && is_space(root.front())) root.remove_prefix(1);
  while (!root.empty() && is_space(root.back())) root.remove_suffix(1);
  if (root.empty()) root = default_url;
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  if (root.ends_with("/v1")) root.remove_suffix(3);
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  return std::string(root);
}

audio::PcmAudio pcm_from_s16le(std::string_view bytes, int sample_rate) {
  audio::PcmAudio out;
  out.sample_rate = sample_rate;
  out.channels = 1;
  out.samples.resize(bytes.size() / 2);
  for (std::size_t i = 0; i < out.samples.size(); ++i) {
    const auto lo = static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[2 * i]));
    const auto hi = static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[2 * i + 1]));
    out.samples[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(lo | (hi << 8)));
  }
  return out;
}

audio::PcmAudio to_mono_rate(audio::PcmAudio in, int rate) {
  if (in.channels > 1) in = audio::first_channel(in);
  in.channels = 1;
  if (in.sample_rate != rate) {
    in.samples = audio::resample(in.samples, in.sample_rate, rate);
    in.sample_rate = rate;
  }
  return in;
}

Result<audio::PcmAudio> decode_audio_answer(std::string_view provider, std::string_view content_type,
                                            std::string_view body, int raw_rate, int target_rate,
                                            std::string_view secret) {
  const std::string type = lower(content_type);
  if (body.size() < 2) return http_errors::unusable_answer(provider, "empty audio", body, secret);
  if (type.find("json") != std::string::npos || type.starts_with("text/")) {
    return http_errors::unusable_answer(provider, "not audio: " + type, body, secret);
  }
  const bool wav = type.find("wav") != std::string::npos ||
                   (body.size() >= 12 && body.substr(0, 4) == "RIFF" && body.substr(8, 4) == "WAVE");
  if (wav) {
    auto parsed = audio::parse_wav(body);
    if (!parsed) return http_errors::unusable_answer(provider, "undecodable WAV", body.substr(0, 64), secret);
    if (parsed->samples.empty()) return http_errors::unusable_answer(provider, "empty WAV", {}, secret);
    return to_mono_rate(std::move(*parsed), target_rate);
  }
  return to_mono_rate(pcm_from_s16le(body, raw_rate), target_rate);
}

nlohmann::json extra_object(std::string_view extra, std::string_view provider) {
  if (extra.empty()) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(extra, nullptr, false);
  if (!parsed.is_object()) {
    module_logger("providers")->warn("{} tts: settings.extra is not a JSON object; ignored", provider);
    return nlohmann::json::object();
  }
  return parsed;
}

boost::asio::awaitable<Result<Synthesis>> post_for_audio(net::HttpClient& http, std::string url,
                                                         std::string_view auth_header, std::string auth_value,
                                                         std::string json_body, std::string_view provider,
                                                         int raw_rate, int target_rate,
                                                         const RemoteProviderSettings& settings) {
  // "openai tts": the provider names are shared with the STT and LLM adapters, so the log says which.
  const std::string label = std::string(provider) + " tts";
  net::ClientRequest request;
  request.method = "POST";
  request.url = std::move(url);
  if (!settings.api_key.empty()) request.headers.set(auth_header, std::move(auth_value));
  request.headers.set("Content-Type", "application/json");
  request.body = std::move(json_body);
  request.total_timeout = settings.timeout;
  request.connect_timeout = std::min(request.connect_timeout, settings.timeout);

  auto sent = co_await http.send(std::move(request));
  auto response = http_errors::check_response(std::move(sent), label, settings.api_key);
  if (!response) co_return response.error();
  const std::string_view content_type = response->headers.get("Content-Type").value_or("");
  auto audio =
      decode_audio_answer(label, content_type, response->body, raw_rate, target_rate, settings.api_key);
  if (!audio) co_return audio.error();
  Synthesis out;
  out.audio = std::move(*audio);
  out.provider = std::string(provider);
  co_return out;
}

}  // namespace ivr::providers::tts_detail
