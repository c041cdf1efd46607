#include "ivr/api/conversation_routes.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "ivr/api/json_body.hpp"
#include "ivr/audio/wav.hpp"
#include "ivr/conversation/call_service.hpp"
#include "ivr/conversation/chat_service.hpp"
#include "ivr/conversation/provider_registry.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/net/multipart_reader.hpp"
#include "ivr/providers/sentences.hpp"
#include "ivr/store/redis.hpp"
#include "ivr/store/secretaries.hpp"
#include "ivr/store/usage.hpp"
#include "ivr/webhooks/outbox.hpp"

namespace ivr::api {
namespace {

using nlohmann::json;
using Deps = std::shared_ptr<ConversationDependencies>;
using boost::asio::awaitable;
using store::TokenScope;

// Audio quieter than this (peak of 16-bit samples) or shorter than kMinSpeechMs is "nothing said": the
// answer is an empty transcript at once, without paying a provider.
constexpr int kSilencePeak = 200;
constexpr std::int64_t kMinSpeechMs = 250;
constexpr std::size_t kMaxChatText = 4'000;
constexpr std::size_t kMaxSynthText = 5'000;

net::HttpResponse from_error(const boost::system::error_code& ec, std::string_view what) {
  if (ec.category() == ivr_category()) return api_error(static_cast<Errc>(ec.value()), what);
  return api_error(Errc::internal, "internal error");
}

net::HttpResponse validation_response(const std::vector<conversation::ValidationError>& errors) {
  json details = json::array();
  for (const auto& e : errors) details.push_back({{"field", e.field}, {"message", e.message}});
  json body = {
      {"error",
       {{"code", "validation_failed"},
        {"message", errors.empty() ? "invalid" : errors.front().field + ": " + errors.front().message},
        {"details", details}}}};
  return json_response(422, body);
}

// "openai, deepgram" from a fallback chain's name "openai>deepgram" (vendor names only, never settings).
std::string providers_tried(std::string_view chain) {
  std::string list;
  for (char c : chain) {
    if (c == '>') {
      list += ", ";
    } else {
      list += c;
    }
  }
  return list;
}

std::optional<std::string> optional_string(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return std::string("\x01");  // marks "wrong type"; callers validate
  return it->get<std::string>();
}

json call_to_json(const store::CallRecord& call) {
  json transcript = json::array();
  for (const auto& m : call.messages) {
    json line = {{"role", m.role}, {"text", m.content}, {"at", m.created_at}};
    if (!m.action.empty()) line["action"] = m.action;
    if (!m.transfer_to.empty()) line["transfer_to"] = m.transfer_to;
    transcript.push_back(line);
  }
  return {{"call_uuid", call.call_uuid},
          {"domain_uuid", call.domain_uuid},
          {"secretary_id", call.secretary_id.empty() ? json() : json(call.secretary_id)},
          {"caller_id", call.caller_id},
          {"mode", call.mode},
          {"status", call.status},
          {"resolution", call.resolution.empty() ? json() : json(call.resolution)},
          {"transferred_to", call.transferred_to.empty() ? json() : json(call.transferred_to)},
          {"turns", call.turns},
          {"duration_seconds", call.duration_seconds ? json(*call.duration_seconds) : json()},
          {"started_at", call.started_at},
          {"ended_at", call.ended_at.empty() ? json() : json(call.ended_at)},
          {"transcript", transcript},
          {"realtime", call.stats_json.empty() ? json() : json::parse(call.stats_json, nullptr, false)}};
}

// ---- secretaries ----

awaitable<net::HttpResponse> list_secretaries(Deps d, TenantRequest& r) {
  // Make sure a fresh domain shows its default secretary.
  Result<conversation::Secretary> def =
      co_await d->secretaries.resolve(r.domain.uuid, r.domain.name, std::nullopt);
  if (!def) co_return from_error(def.error(), "cannot read secretaries");
  Result<std::vector<store::SecretaryRecord>> rows = co_await d->secretary_repo.list(r.domain.uuid);
  if (!rows) co_return from_error(rows.error(), "cannot read secretaries");
  json list = json::array();
  for (const auto& row : *rows) {
    if (auto s = conversation::from_record(row)) list.push_back(conversation::to_api_json(*s));
  }
  co_return json_response(200, {{"secretaries", list}});
}

awaitable<net::HttpResponse> get_secretary(Deps d, TenantRequest& r) {
  std::string id(r.http.path_param("id"));
  std::optional<std::string> wanted = id == "default" ? std::nullopt : std::optional<std::string>(id);
  Result<conversation::Secretary> s =
      co_await d->secretaries.resolve(r.domain.uuid, r.domain.name, wanted, /*fresh=*/true);
  if (!s)
    co_return from_error(s.error(), s.error() == Errc::not_found ? "no such secretary in this domain"
                                                                 : "cannot read the secretary");
  co_return json_response(200, conversation::to_api_json(*s));
}

awaitable<net::HttpResponse> create_secretary(Deps d, TenantRequest& r) {
  json body;
  net::HttpResponse error;
  if (!parse_json_object(r.http, body, error)) co_return error;
  conversation::Secretary s;
  s.domain_uuid = r.domain.uuid;
  s.llm.push_back({"extractive", "", "", "", 15'000, "", "", ""});
  s.tts.push_back({"espeak", "", "", "", 15'000, "", "", ""});
  if (!body.contains("name")) co_return validation_response({{"name", "is required"}});
  auto errors = conversation::apply_api_json(body, d->box, s);
  if (!errors.empty()) co_return validation_response(errors);
  Result<store::SecretaryRecord> created = co_await d->secretary_repo.create(conversation::to_record(s));
  d->secretaries.invalidate(r.domain.uuid);
  if (!created) {
    co_return from_error(created.error(), created.error() == Errc::conflict
                                              ? "a secretary with this name already exists in the domain"
                                              : "cannot create the secretary");
  }
  auto typed = conversation::from_record(*created);
  if (!typed) co_return from_error(typed.error(), "cannot read the secretary");
  net::HttpResponse response = json_response(201, conversation::to_api_json(*typed));
  response.headers.set("Location", "/secretaries/" + created->id);
  co_return response;
}

awaitable<net::HttpResponse> update_secretary(Deps d, TenantRequest& r) {
  json body;
  net::HttpResponse error;
  if (!parse_json_object(r.http, body, error)) co_return error;
  std::string id(r.http.path_param("id"));
  std::optional<std::string> wanted = id == "default" ? std::nullopt : std::optional<std::string>(id);
  Result<conversation::Secretary> current =
      co_await d->secretaries.resolve(r.domain.uuid, r.domain.name, wanted, /*fresh=*/true);
  if (!current) co_return from_error(current.error(), "no such secretary in this domain");
  conversation::Secretary s = *current;
  auto errors = conversation::apply_api_json(body, d->box, s);
  if (!errors.empty()) co_return validation_response(errors);
  Result<store::SecretaryRecord> saved = co_await d->secretary_repo.update(conversation::to_record(s));
  d->secretaries.invalidate(r.domain.uuid);
  if (!saved) {
    co_return from_error(saved.error(), saved.error() == Errc::conflict
                                            ? "a secretary with this name already exists in the domain"
                                            : "cannot update the secretary");
  }
  auto typed = conversation::from_record(*saved);
  if (!typed) co_return from_error(typed.error(), "cannot read the secretary");
  co_return json_response(200, conversation::to_api_json(*typed));
}

awaitable<net::HttpResponse> delete_secretary(Deps d, TenantRequest& r) {
  Result<void> done = co_await d->secretary_repo.remove(r.domain.uuid, std::string(r.http.path_param("id")));
  d->secretaries.invalidate(r.domain.uuid);
  if (!done) co_return from_error(done.error(), "no such secretary in this domain");
  net::HttpResponse response;
  response.status = 204;
  co_return response;
}

// ---- /transcribe ----

awaitable<net::HttpResponse> transcribe(Deps d, TenantRequest& r) {
  auto log = module_logger("api");
  std::string_view audio_bytes = r.http.body;
  std::optional<std::string> secretary_id = r.http.query_param("secretary_id");
  std::optional<std::string> language = r.http.query_param("language");
  const std::string content_type(r.http.headers.get("content-type").value_or(""));
  if (auto boundary = net::multipart_boundary(content_type)) {
    Result<std::vector<net::MultipartPart>> parts = net::parse_multipart(r.http.body, *boundary);
    if (!parts) co_return api_error(Errc::bad_request, "malformed multipart body");
    bool found = false;
    for (const auto& p : *parts) {
      if (p.name == "file") {
        audio_bytes = p.data;
        found = true;
      } else if (p.name == "secretary_id") {
        secretary_id = std::string(p.data);
      } else if (p.name == "language") {
        language = std::string(p.data);
      }
    }
    if (!found) co_return api_error(Errc::bad_request, "multipart body has no 'file' part");
  }
  if (audio_bytes.empty()) co_return api_error(Errc::unprocessable, "the audio is empty");
  audio::WavInfo info;
  Result<audio::PcmAudio> parsed = audio::parse_wav(audio_bytes, &info);
  if (!parsed) {
    co_return parsed.error() == Errc::unsupported_media_type
        ? api_error(Errc::unsupported_media_type, "the audio must be a WAV file (RIFF/WAVE)")
        : api_error(Errc::unprocessable,
                    "the WAV file is truncated or malformed, or its encoding is unsupported: use 16-bit PCM "
                    "or G.711 (mu-law/A-law), mono or stereo");
  }
  audio::PcmAudio mono = audio::first_channel(*parsed);
  const std::int64_t duration_ms = mono.duration_ms();
  Result<conversation::Secretary> secretary =
      co_await d->secretaries.resolve(r.domain.uuid, r.domain.name, secretary_id);
  if (!secretary) co_return from_error(secretary.error(), "no such secretary in this domain");
  const std::string lang = language.value_or(secretary->language);

  const audio::Levels levels = audio::measure_levels(mono.samples);
  if (duration_ms < kMinSpeechMs || levels.peak < kSilencePeak) {
    co_return json_response(200, {{"text", ""},
                                  {"language", lang},
                                  {"duration_ms", duration_ms},
                                  {"provider", "none"},
                                  {"silence", true}});
  }
  Result<std::unique_ptr<providers::SpeechToText>> stt = d->providers.speech_to_text(*secretary);
  if (!stt) {
    co_return stt.error() == Errc::unavailable
        ? api_error(
              Errc::unavailable,
              "no speech-to-text provider is configured for this secretary: add one under providers.stt "
              "(e.g. an OpenAI-compatible Whisper server)")
        : from_error(stt.error(), "the secretary's speech-to-text settings are invalid");
  }
  providers::TranscribeRequest request{std::move(mono), lang};
  Result<providers::Transcript> transcript = co_await (*stt)->transcribe(std::move(request));
  if (!transcript) {
    log->warn("{} transcription failed: {}", r.log_context(), transcript.error().message());
    co_return from_error(transcript.error(), "speech-to-text failed on every configured provider (tried: " +
                                                 providers_tried((*stt)->name()) + ")");
  }
  // Named first: GCC 12 miscompiles a braced list inside a co_await expression (STYLE.md).
  store::UsageEvent usage{
      r.domain.uuid, "", "stt", transcript->provider, static_cast<double>(duration_ms) / 1000.0, "seconds"};
  (void)co_await d->usage.record(std::move(usage));
  co_return json_response(200, {{"text", transcript->text},
                                {"language", transcript->language.empty() ? lang : transcript->language},
                                {"duration_ms", duration_ms},
                                {"provider", transcript->provider}});
}

// ---- /chat ----

awaitable<net::HttpResponse> chat(Deps d, TenantRequest& r) {
  json body;
  net::HttpResponse error;
  if (!parse_json_object(r.http, body, error)) co_return error;
  std::vector<conversation::ValidationError> problems;
  const auto call_uuid = optional_string(body, "call_uuid");
  if (!call_uuid || !is_valid_uuid(*call_uuid)) problems.push_back({"call_uuid", "must be the call's UUID"});
  const auto text = optional_string(body, "text");
  if (!text || *text == "\x01") {
    problems.push_back({"text", "must be a string (what the caller said)"});
  } else if (text->size() > kMaxChatText) {
    problems.push_back({"text", "must be at most 4000 characters"});
  }
  const auto secretary_id = optional_string(body, "secretary_id");
  if (secretary_id && *secretary_id == "\x01") problems.push_back({"secretary_id", "must be a string"});
  const auto caller_id = optional_string(body, "caller_id");
  if (!problems.empty()) co_return validation_response(problems);

  conversation::ChatInput input;
  input.domain_uuid = r.domain.uuid;
  input.domain_name = r.domain.name;
  input.call_uuid = *normalize_uuid(*call_uuid);
  input.secretary_id = secretary_id;
  input.text = *text;
  input.caller_id = caller_id && *caller_id != "\x01" ? *caller_id : "";
  input.request_id = r.http.request_id;
  Result<conversation::ChatOutput> out = co_await d->chat.chat(std::move(input));
  if (!out) {
    if (out.error() == Errc::conflict)
      co_return api_error(Errc::conflict, "this call_uuid belongs to another call");
    if (out.error() == Errc::not_found)
      co_return api_error(Errc::not_found, "no such secretary in this domain");
    co_return from_error(out.error(), "the conversation could not continue");
  }
  json sources = json::array();
  for (const auto& s : out->sources)
    sources.push_back({{"document_title", s.document_title}, {"score", s.score}});
  json reply = {
      {"text", out->text}, {"action", out->action}, {"sources", sources}, {"provider", out->provider}};
  if (out->action == "transfer") {
    reply["transfer_to"] = out->transfer_to;
    reply["transfer_target"] = out->transfer_target;
  }
  co_return json_response(200, reply);
}

// ---- /synthesize ----

awaitable<net::HttpResponse> synthesize(Deps d, TenantRequest& r) {
  json body;
  net::HttpResponse error;
  if (!parse_json_object(r.http, body, error)) co_return error;
  std::vector<conversation::ValidationError> problems;
  const auto text = optional_string(body, "text");
  if (!text || *text == "\x01" || text->find_first_not_of(" \t\r\n") == std::string::npos) {
    problems.push_back({"text", "must be a non-empty string"});
  } else if (text->size() > kMaxSynthText) {
    problems.push_back({"text", "must be at most 5000 characters"});
  }
  int rate = 8000;
  if (auto it = body.find("sample_rate"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || (it->get<int>() != 8000 && it->get<int>() != 16000)) {
      problems.push_back({"sample_rate", "must be 8000 or 16000"});
    } else {
      rate = it->get<int>();
    }
  }
  if (auto fmt = optional_string(body, "format"); fmt && *fmt != "wav") {
    problems.push_back({"format", "only \"wav\" is supported"});
  }
  const auto voice = optional_string(body, "voice");
  const auto secretary_id = optional_string(body, "secretary_id");
  if ((voice && *voice == "\x01") || (secretary_id && *secretary_id == "\x01")) {
    problems.push_back({"voice", "voice and secretary_id must be strings"});
  }
  if (!problems.empty()) co_return validation_response(problems);

  Result<conversation::Secretary> secretary =
      co_await d->secretaries.resolve(r.domain.uuid, r.domain.name, secretary_id);
  if (!secretary) co_return from_error(secretary.error(), "no such secretary in this domain");
  Result<std::unique_ptr<providers::TextToSpeech>> tts = d->providers.text_to_speech(*secretary);
  if (!tts) co_return from_error(tts.error(), "the secretary's text-to-speech settings are invalid");
  const std::string chosen_voice = voice.value_or(secretary->voice);

  // Short phrases (greeting, goodbye) are asked for on every call: cache them per domain.
  const bool cacheable = text->size() <= d->tts_cache_max_chars;
  const std::string cache_key = d->key_prefix + "tts:" + r.domain.uuid + ":" +
                                sha256_hex(std::string((*tts)->name()) + "|" + chosen_voice + "|" +
                                           secretary->language + "|" + std::to_string(rate) + "|" + *text);
  if (cacheable) {
    std::vector<std::string> get{"GET", cache_key};
    Result<store::RedisReply> hit = co_await d->redis.command(std::move(get));
    if (hit && hit->type == store::RedisReply::Type::string && !hit->str.empty()) {
      net::HttpResponse response;
      response.body = hit->str;
      response.headers.set("Content-Type", "audio/wav");
      response.headers.set("X-Cache", "hit");
      co_return response;
    }
  }

  audio::PcmAudio whole;
  whole.sample_rate = rate;
  whole.channels = 1;
  std::string provider;
  for (const std::string& sentence : providers::split_sentences(*text)) {
    providers::SynthesisRequest request{sentence, chosen_voice, secretary->language, rate};
    Result<providers::Synthesis> piece = co_await (*tts)->synthesize(std::move(request));
    if (!piece) {
      module_logger("api")->warn("{} synthesis failed: {}", r.log_context(), piece.error().message());
      co_return from_error(piece.error(), "text-to-speech failed on every configured provider (tried: " +
                                              providers_tried((*tts)->name()) + ")");
    }
    provider = piece->provider;
    if (!whole.samples.empty())
      whole.samples.insert(whole.samples.end(), static_cast<std::size_t>(rate) / 8, 0);
    whole.samples.insert(whole.samples.end(), piece->audio.samples.begin(), piece->audio.samples.end());
  }
  std::string wav = audio::write_wav(whole);
  // Vendors bill characters, not bytes: count UTF-8 code points (every byte but continuation bytes).
  const auto characters = std::count_if(
      text->begin(), text->end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  store::UsageEvent usage{r.domain.uuid, "", "tts", provider, static_cast<double>(characters), "characters"};
  (void)co_await d->usage.record(std::move(usage));
  if (cacheable) {
    std::vector<std::string> set{"SET", cache_key, wav, "EX", std::to_string(d->tts_cache_ttl_seconds)};
    (void)co_await d->redis.command(std::move(set));
  }
  net::HttpResponse response;
  response.body = std::move(wav);
  response.headers.set("Content-Type", "audio/wav");
  response.headers.set("X-Cache", "miss");
  response.headers.set("X-Provider", provider);
  co_return response;
}

// ---- /calls ----

awaitable<net::HttpResponse> end_call(Deps d, TenantRequest& r) {
  json body;
  net::HttpResponse error;
  if (r.http.body.empty()) {
    body = json::object();
  } else if (!parse_json_object(r.http, body, error)) {
    co_return error;
  }
  const std::string call_uuid(r.http.path_param("call_uuid"));
  std::vector<conversation::ValidationError> problems;
  if (!is_valid_uuid(call_uuid)) problems.push_back({"call_uuid", "must be the call's UUID"});
  conversation::CallEndInput input;
  input.domain_uuid = r.domain.uuid;
  input.domain_name = r.domain.name;
  input.call_uuid = normalize_uuid(call_uuid).value_or("");
  const auto resolution = optional_string(body, "resolution");
  if (resolution && (*resolution == "\x01" || resolution->size() > 64)) {
    problems.push_back({"resolution", "must be a short string (resolved, transferred, hangup, abandoned…)"});
  }
  const auto transferred_to = optional_string(body, "transferred_to");
  if (transferred_to && (*transferred_to == "\x01" || transferred_to->size() > 64)) {
    problems.push_back({"transferred_to", "must be an extension string"});
  }
  if (auto it = body.find("duration_seconds"); it != body.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 86'400) {
      problems.push_back({"duration_seconds", "must be a number of seconds"});
    } else {
      input.duration_seconds = it->get<double>();
    }
  }
  const auto caller_id = optional_string(body, "caller_id");
  if (!problems.empty()) co_return validation_response(problems);
  input.transferred_to = transferred_to.value_or("");
  input.resolution = resolution.value_or(input.transferred_to.empty() ? "hangup" : "transferred");
  input.caller_id = caller_id && *caller_id != "\x01" ? *caller_id : "";
  Result<store::CallRecord> done = co_await d->calls.end(std::move(input));
  if (!done) {
    if (done.error() == Errc::conflict)
      co_return api_error(Errc::conflict, "this call_uuid belongs to another call");
    co_return from_error(done.error(), "cannot complete the call");
  }
  co_return json_response(200, call_to_json(*done));
}

awaitable<net::HttpResponse> get_call(Deps d, TenantRequest& r) {
  const std::string call_uuid(r.http.path_param("call_uuid"));
  if (!is_valid_uuid(call_uuid)) co_return api_error(Errc::bad_request, "call_uuid must be a UUID");
  Result<std::optional<store::CallRecord>> call =
      co_await d->calls.get(r.domain.uuid, *normalize_uuid(call_uuid));
  if (!call) co_return from_error(call.error(), "cannot read the call");
  if (!call->has_value()) co_return api_error(Errc::not_found, "no such call in this domain");
  co_return json_response(200, call_to_json(**call));
}

awaitable<net::HttpResponse> list_deliveries(Deps d, TenantRequest& r) {
  std::size_t limit = 50;
  if (auto l = r.http.query_param("limit")) {
    try {
      limit = static_cast<std::size_t>(std::clamp(std::stoi(*l), 1, 500));
    } catch (const std::exception&) {
      co_return api_error(Errc::bad_request, "limit must be a number from 1 to 500");
    }
  }
  Result<std::vector<webhooks::DeliveryRecord>> rows = co_await d->webhooks.list(r.domain.uuid, limit);
  if (!rows) co_return from_error(rows.error(), "cannot read deliveries");
  json list = json::array();
  for (const auto& row : *rows) {
    list.push_back({{"id", row.id},
                    {"event", row.event},
                    {"status", row.status},
                    {"attempts", row.attempts},
                    {"last_status_code", row.last_status_code ? json(*row.last_status_code) : json()},
                    {"last_error", row.last_error ? json(*row.last_error) : json()},
                    {"created_at", row.created_at},
                    {"delivered_at", row.delivered_at ? json(*row.delivered_at) : json()},
                    {"next_attempt_at", row.next_attempt_at}});
  }
  co_return json_response(200, {{"deliveries", list}});
}

// Binds a handler taking (Deps, TenantRequest&) into a TenantHandler.
template <class Fn>
TenantHandler bind(Deps d, Fn fn) {
  return [d, fn](TenantRequest& r) -> awaitable<net::HttpResponse> { return fn(d, r); };
}

}  // namespace

void register_conversation_routes(net::Router& router, Deps d) {
  TenantGuard& g = d->guard;
  net::RouteOptions json_route;
  json_route.content_types = {"application/json"};
  net::RouteOptions audio_route;
  audio_route.max_body_bytes = d->max_audio_bytes;
  audio_route.content_types = {
      "audio/wav",          "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream",
      "multipart/form-data"};

  router.add("GET", "/secretaries", g.wrap(TokenScope::call, bind(d, list_secretaries)));
  router.add("POST", "/secretaries", g.wrap(TokenScope::admin, bind(d, create_secretary)), json_route);
  router.add("GET", "/secretaries/{id}", g.wrap(TokenScope::call, bind(d, get_secretary)));
  router.add("PUT", "/secretaries/{id}", g.wrap(TokenScope::admin, bind(d, update_secretary)), json_route);
  router.add("DELETE", "/secretaries/{id}", g.wrap(TokenScope::admin, bind(d, delete_secretary)));
  router.add("POST", "/transcribe", g.wrap(TokenScope::call, bind(d, transcribe)), audio_route);
  router.add("POST", "/chat", g.wrap(TokenScope::call, bind(d, chat)), json_route);
  router.add("POST", "/synthesize", g.wrap(TokenScope::call, bind(d, synthesize)), json_route);
  router.add("POST", "/calls/{call_uuid}/end", g.wrap(TokenScope::call, bind(d, end_call)), json_route);
  router.add("GET", "/calls/{call_uuid}", g.wrap(TokenScope::call, bind(d, get_call)));
  router.add("GET", "/webhooks/deliveries", g.wrap(TokenScope::admin, bind(d, list_deliveries)));
}

}  // namespace ivr::api
