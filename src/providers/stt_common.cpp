#include "stt_common.hpp"

#include "http_errors.hpp"
#include "ivr/audio/resampler.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace ivr::providers::stt_detail {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

struct LanguageAlias {
  std::string_view alias;  // ISO 639-2/3 code or Whisper's English name
  std::string_view iso1;
};

// The languages our secretaries are configured for and their neighbours; anything else passes through.
constexpr std::array kLanguageAliases{
    LanguageAlias{"eng", "en"},        LanguageAlias{"english", "en"},  LanguageAlias{"por", "pt"},
    LanguageAlias{"portuguese", "pt"}, LanguageAlias{"spa", "es"},      LanguageAlias{"spanish", "es"},
    LanguageAlias{"fra", "fr"},        LanguageAlias{"fre", "fr"},      LanguageAlias{"french", "fr"},
    LanguageAlias{"deu", "de"},        LanguageAlias{"ger", "de"},      LanguageAlias{"german", "de"},
    LanguageAlias{"ita", "it"},        LanguageAlias{"italian", "it"},  LanguageAlias{"nld", "nl"},
    LanguageAlias{"dut", "nl"},        LanguageAlias{"dutch", "nl"},    LanguageAlias{"cat", "ca"},
    LanguageAlias{"catalan", "ca"},    LanguageAlias{"glg", "gl"},      LanguageAlias{"galician", "gl"},
    LanguageAlias{"jpn", "ja"},        LanguageAlias{"japanese", "ja"}, LanguageAlias{"zho", "zh"},
    LanguageAlias{"chi", "zh"},        LanguageAlias{"chinese", "zh"},  LanguageAlias{"cmn", "zh"},
    LanguageAlias{"rus", "ru"},        LanguageAlias{"russian", "ru"},  LanguageAlias{"ukr", "uk"},
    LanguageAlias{"ukrainian", "uk"},  LanguageAlias{"pol", "pl"},      LanguageAlias{"polish", "pl"},
    LanguageAlias{"ara", "ar"},        LanguageAlias{"arabic", "ar"},   LanguageAlias{"hin", "hi"},
    LanguageAlias{"hindi", "hi"},      LanguageAlias{"kor", "ko"},      LanguageAlias{"korean", "ko"},
    LanguageAlias{"tur", "tr"},        LanguageAlias{"turkish", "tr"},  LanguageAlias{"swe", "sv"},
    LanguageAlias{"swedish", "sv"},
};

std::string normalize_reported(std::string_view reported) {
  std::string tag = trim(reported);
  const auto primary = primary_language(tag);
  for (const auto& a : kLanguageAliases) {
    if (a.alias == primary) {
      // Keep a region the vendor added ("por-BR" is unusual, but harmless to carry).
      const auto sep = tag.find_first_of("-_");
      return std::string(a.iso1) + (sep == std::string::npos ? std::string() : "-" + tag.substr(sep + 1));
    }
  }
  return tag;
}

// "openai stt": the provider names are shared with the TTS and LLM adapters, so the log says which.
std::string log_label(std::string_view provider) {
  return std::string(provider) + " stt";
}

}  // namespace

std::string api_root(std::string_view base_url, std::string_view default_url) {
  std::string_view root = trim(base_url).empty() ? default_url : base_url;
  while (!root.empty() && (is_space(root.back()) || root.back() == '/')) root.remove_suffix(1);
  while (!root.empty() && is_space(root.front())) root.remove_prefix(1);
  if (root.size() >= 3 && root.substr(root.size() - 3) == "/v1") {
    root.remove_suffix(3);
    while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  }
  return std::string(root);
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

std::string primary_language(std::string_view bcp47) {
  const std::string tag = trim(bcp47);
  return lower(std::string_view(tag).substr(0, tag.find_first_of("-_")));
}

std::string reconcile_language(std::string_view reported, std::string_view hint) {
  const std::string vendor = normalize_reported(reported);
  const std::string hinted = trim(hint);
  if (vendor.empty()) return hinted;
  if (!hinted.empty() && primary_language(vendor) == primary_language(hinted)) return hinted;
  return vendor;
}

Result<audio::PcmAudio> prepare_audio(const audio::PcmAudio& in, int rate) {
  constexpr int kMinRate = 1'000;
  constexpr int kMaxRate = 384'000;
  if (in.samples.empty()) {
    audio::PcmAudio empty;
    empty.sample_rate = rate > 0 ? rate : in.sample_rate;
    empty.channels = 1;
    return empty;
  }
  if (in.channels < 1 || in.sample_rate < kMinRate || in.sample_rate > kMaxRate) {
    return make_error_code(Errc::unprocessable);
  }
  audio::PcmAudio mono = in.channels == 1 ? in : audio::first_channel(in);
  if (rate > 0 && rate != mono.sample_rate) {
    // Inline on the io thread: speexdsp at quality 5 turns 10 s of 8 kHz into 16 kHz in ~1.6 ms (-O2,
    // measured here), below the "offload it" bar of STYLE.md; the factories have no worker pool to hand it to
    // anyway.
    mono.samples = audio::resample(mono.samples, mono.sample_rate, rate);
    mono.sample_rate = rate;
  }
  return mono;
}

boost::asio::awaitable<Result<std::string>> exchange(net::HttpClient& http, net::ClientRequest request,
                                                     std::string_view provider,
                                                     const RemoteProviderSettings& settings) {
  request.method = "POST";
  request.total_timeout = settings.timeout;
  request.connect_timeout = std::min(request.connect_timeout, settings.timeout);
  auto sent = co_await http.send(std::move(request));
  auto checked = http_errors::check_response(std::move(sent), log_label(provider), settings.api_key);
  if (!checked) co_return checked.error();
  co_return std::move(checked->body);
}

boost::asio::awaitable<Result<std::string>> post_form(net::HttpClient& http, std::string url,
                                                      std::string_view auth_header, std::string auth_value,
                                                      const net::MultipartWriter& form,
                                                      std::string_view provider,
                                                      const RemoteProviderSettings& settings) {
  net::ClientRequest request;
  request.url = std::move(url);
  if (!auth_header.empty()) request.headers.set(auth_header, std::move(auth_value));
  request.headers.set("Content-Type", form.content_type());
  request.headers.set("Accept", "application/json");
  request.body = form.body();
  co_return co_await exchange(http, std::move(request), provider, settings);
}

Result<Transcript> parse_text_transcript(std::string_view body, std::string_view hint,
                                         std::string_view language_field, std::string_view provider) {
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return make_error_code(Errc::upstream_error);
  const auto text = json.find("text");
  if (text == json.end() || !(text->is_string() || text->is_null()))
    return make_error_code(Errc::upstream_error);
  Transcript t;
  t.text = text->is_string() ? trim(text->get_ref<const std::string&>()) : std::string();
  const auto language = json.find(language_field);
  const std::string reported =
      language != json.end() && language->is_string() ? language->get<std::string>() : std::string();
  t.language = reconcile_language(reported, hint);
  t.provider = std::string(provider);
  return t;
}

boost::asio::awaitable<Result<Transcript>> transcribe_form(
    net::HttpClient& http, std::string url, std::string_view auth_header, std::string auth_value,
    const net::MultipartWriter& form, std::string hint, std::string_view language_field,
    std::string_view provider, const RemoteProviderSettings& settings) {
  auto body =
      co_await post_form(http, std::move(url), auth_header, std::move(auth_value), form, provider, settings);
  if (!body) co_return body.error();
  auto transcript = parse_text_transcript(*body, hint, language_field, provider);
  if (!transcript) co_return unexpected_answer(provider, *body, settings.api_key);
  co_return transcript;
}

std::string loggable_body(std::string_view body, std::string_view secret, std::size_t limit) {
  return http_errors::loggable_body(body, secret, limit);
}

boost::system::error_code unexpected_answer(std::string_view provider, std::string_view body,
                                            std::string_view api_key) {
  return http_errors::unusable_answer(log_label(provider), "not the documented transcription JSON", body,
                                      api_key);
}

}  // namespace ivr::providers::stt_detail
