#include "ivr/conversation/secretary.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "ivr/core/secret_box.hpp"

namespace ivr::conversation {
namespace {

using nlohmann::json;

const std::set<std::string> kSttVendors = {"openai", "deepgram", "elevenlabs"};
const std::set<std::string> kLlmVendors = {"openai", "anthropic", "gemini", "extractive"};
const std::set<std::string> kTtsVendors = {"openai", "elevenlabs", "espeak"};
// Realtime agents (the /stream bridge): OpenAI Realtime (and Azure / compatible), ElevenLabs
// Conversational AI, and `pipeline` (the secretary's own STT + LLM + TTS chains with local VAD).
const std::set<std::string> kRealtimeVendors = {"openai", "elevenlabs", "pipeline"};

// A FreeSWITCH extension or dial target: digits, letters and the few symbols dialplans use.
bool valid_extension(const std::string& s) {
  static const std::regex pattern(R"([0-9A-Za-z*#+_.@-]{1,64})");
  return std::regex_match(s, pattern);
}

bool valid_language(const std::string& s) {
  static const std::regex pattern(R"([a-z]{2,3}(-[A-Za-z]{2,4})?)");
  return std::regex_match(s, pattern);
}

bool valid_url(const std::string& s) {
  return (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) && s.size() <= 2048 &&
         s.find_first_of(" \t\r\n") == std::string::npos;
}

struct Errors {
  std::vector<ValidationError> list;
  void add(std::string field, std::string message) { list.push_back({std::move(field), std::move(message)}); }
};

std::optional<std::string> string_field(const json& v, const std::string& field, Errors& errors,
                                        std::size_t max_len = 20'000) {
  if (!v.is_string()) {
    errors.add(field, "must be a string");
    return std::nullopt;
  }
  std::string s = v.get<std::string>();
  if (s.size() > max_len) {
    errors.add(field, "must be at most " + std::to_string(max_len) + " characters");
    return std::nullopt;
  }
  return s;
}

std::string hint_of(const std::string& key) {
  return key.size() <= 4 ? std::string() : key.substr(key.size() - 4);
}

void apply_providers(const json& input, const SecretBox* box, Secretary& s, Errors& errors) {
  if (!input.is_object()) {
    errors.add("providers", "must be an object with stt, llm and tts arrays");
    return;
  }
  for (const auto& [capability, value] : input.items()) {
    std::vector<ProviderConfig>* target = nullptr;
    const std::set<std::string>* vendors = nullptr;
    if (capability == "stt") target = &s.stt, vendors = &kSttVendors;
    if (capability == "llm") target = &s.llm, vendors = &kLlmVendors;
    if (capability == "tts") target = &s.tts, vendors = &kTtsVendors;
    if (capability == "realtime") target = &s.realtime, vendors = &kRealtimeVendors;
    const std::string base = "providers." + capability;
    if (target == nullptr) {
      errors.add(base, "unknown capability (expected stt, llm, tts, realtime)");
      continue;
    }
    if (!value.is_array()) {
      errors.add(base, "must be an array (the fallback chain, first choice first)");
      continue;
    }
    if (value.size() > 5) errors.add(base, "at most 5 providers per chain");
    std::vector<ProviderConfig> chain;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string field = base + "[" + std::to_string(i) + "]";
      const json& entry = value[i];
      if (!entry.is_object()) {
        errors.add(field, "must be an object");
        continue;
      }
      ProviderConfig p;
      // Keep the stored key when the same vendor stays at the same place and no new key is given.
      const ProviderConfig* previous = i < target->size() ? &(*target)[i] : nullptr;
      bool key_given = false;
      for (const auto& [key, v] : entry.items()) {
        const std::string f = field + "." + key;
        if (key == "vendor") {
          if (auto str = string_field(v, f, errors, 32)) p.vendor = *str;
        } else if (key == "base_url") {
          if (auto str = string_field(v, f, errors, 2048)) {
            if (!str->empty() && !valid_url(*str)) errors.add(f, "must be an http(s) URL");
            p.base_url = *str;
          }
        } else if (key == "model") {
          if (auto str = string_field(v, f, errors, 200)) p.model = *str;
        } else if (key == "voice") {
          if (auto str = string_field(v, f, errors, 200)) p.voice = *str;
        } else if (key == "timeout_ms") {
          if (!v.is_number_integer() || v.get<std::int64_t>() < 100 || v.get<std::int64_t>() > 120'000) {
            errors.add(f, "must be an integer from 100 to 120000");
          } else {
            p.timeout_ms = v.get<std::int64_t>();
          }
        } else if (key == "extra") {
          if (!v.is_object()) {
            errors.add(f, "must be an object");
          } else {
            p.extra_json = v.dump();
          }
        } else if (key == "api_key") {
          key_given = true;
          if (v.is_null()) continue;  // explicit removal
          auto str = string_field(v, f, errors, 4096);
          if (!str || str->empty()) continue;
          if (box == nullptr) {
            errors.add(f,
                       "cannot store API keys: the master key is not configured (security.master_key_file "
                       "or VOICE_AI_SECURITY_MASTER_KEY)");
            continue;
          }
          p.api_key_sealed = box->seal(*str, s.domain_uuid);
          p.api_key_hint = hint_of(*str);
        } else if (key == "has_api_key" || key == "api_key_hint") {
          // Echoed back from a GET: ignored, so a GET → edit → PUT round trip works.
        } else {
          errors.add(f, "unknown field");
        }
      }
      if (!vendors->count(p.vendor)) {
        std::string known;
        for (const auto& v : *vendors) known += (known.empty() ? "" : ", ") + v;
        errors.add(field + ".vendor", "must be one of " + known);
      }
      if (!key_given && previous != nullptr && previous->vendor == p.vendor) {
        p.api_key_sealed = previous->api_key_sealed;
        p.api_key_hint = previous->api_key_hint;
      }
      chain.push_back(std::move(p));
    }
    *target = std::move(chain);
  }
}

json provider_to_json(const ProviderConfig& p, bool stored) {
  json j = {{"vendor", p.vendor}};
  if (!p.base_url.empty()) j["base_url"] = p.base_url;
  if (!p.model.empty()) j["model"] = p.model;
  if (!p.voice.empty()) j["voice"] = p.voice;
  j["timeout_ms"] = p.timeout_ms;
  if (!p.extra_json.empty()) j["extra"] = json::parse(p.extra_json, nullptr, false);
  if (stored) {
    if (!p.api_key_sealed.empty()) j["api_key_sealed"] = p.api_key_sealed;
    if (!p.api_key_hint.empty()) j["api_key_hint"] = p.api_key_hint;
  } else {
    j["has_api_key"] = !p.api_key_sealed.empty();
    if (!p.api_key_hint.empty()) j["api_key_hint"] = "…" + p.api_key_hint;
  }
  return j;
}

json settings_json(const Secretary& s, bool stored) {
  json providers = json::object();
  for (const auto& [name, chain] :
       {std::pair{"stt", &s.stt}, {"llm", &s.llm}, {"tts", &s.tts}, {"realtime", &s.realtime}}) {
    json list = json::array();
    for (const auto& p : *chain) list.push_back(provider_to_json(p, stored));
    providers[name] = list;
  }
  // Stored as a list: a JSON object comes back sorted by name, and the order matters (the offline model
  // sends "talk to a person" to the first target). The API keeps the {"name": "ext"} object form.
  json targets = stored ? json::array() : json::object();
  for (const auto& [name, ext] : s.transfer_targets) {
    if (stored) {
      targets.push_back({{"name", name}, {"extension", ext}});
    } else {
      targets[name] = ext;
    }
  }
  json faq = json::array();
  for (const auto& [q, a] : s.faq) faq.push_back({{"question", q}, {"answer", a}});
  json j = {{"providers", providers},
            {"transfer_targets", targets},
            {"fallback_extension", s.fallback_extension},
            {"playback", s.playback},
            {"max_turns", s.max_turns},
            {"goodbye_phrases", s.goodbye_phrases},
            {"faq", faq},
            {"webhook_url", s.webhook_url}};
  if (stored) {
    if (!s.webhook_secret_sealed.empty()) j["webhook_secret_sealed"] = s.webhook_secret_sealed;
  } else {
    j["has_webhook_secret"] = !s.webhook_secret_sealed.empty();
  }
  return j;
}

}  // namespace

Secretary default_secretary(const std::string& domain_uuid, const std::string& domain_name) {
  Secretary s;
  s.domain_uuid = domain_uuid;
  s.name = "Secretária";
  s.language = "pt-BR";
  s.greeting = "Olá! Você ligou para " + (domain_name.empty() ? std::string("nós") : domain_name) +
               ". Em que posso ajudar?";
  s.system_prompt =
      "Você é a secretária virtual desta empresa. Responda de forma breve e cordial, em frases curtas "
      "adequadas "
      "para telefone. Use apenas as informações da base de conhecimento; se não souber, ofereça transferir.";
  s.is_default = true;
  s.llm.push_back({"extractive", "", "", "", 15'000, "", "", ""});
  s.tts.push_back({"espeak", "", "", "", 15'000, "", "", ""});
  s.goodbye_phrases = {"tchau", "até logo", "obrigado, era só isso"};
  s.max_turns = 10;
  return s;
}

std::vector<ValidationError> apply_api_json(const json& input, const SecretBox* box, Secretary& s) {
  Errors errors;
  if (!input.is_object()) {
    errors.add("", "must be a JSON object");
    return errors.list;
  }
  for (const auto& [key, v] : input.items()) {
    if (key == "name") {
      if (auto str = string_field(v, key, errors, 100)) {
        if (str->empty()) errors.add(key, "must not be empty");
        s.name = *str;
      }
    } else if (key == "language") {
      if (auto str = string_field(v, key, errors, 16)) {
        if (!valid_language(*str)) errors.add(key, "must be a language tag such as pt-BR, en or es");
        s.language = *str;
      }
    } else if (key == "greeting") {
      if (auto str = string_field(v, key, errors, 2'000)) s.greeting = *str;
    } else if (key == "system_prompt") {
      if (auto str = string_field(v, key, errors, 20'000)) s.system_prompt = *str;
    } else if (key == "voice") {
      if (auto str = string_field(v, key, errors, 200)) s.voice = *str;
    } else if (key == "mode") {
      if (auto str = string_field(v, key, errors, 16)) {
        if (*str != "turn" && *str != "realtime") errors.add(key, "must be \"turn\" or \"realtime\"");
        s.mode = *str;
      }
    } else if (key == "is_default" || key == "enabled") {
      if (!v.is_boolean()) {
        errors.add(key, "must be true or false");
      } else {
        (key == "is_default" ? s.is_default : s.enabled) = v.get<bool>();
      }
    } else if (key == "providers") {
      apply_providers(v, box, s, errors);
    } else if (key == "transfer_targets") {
      s.transfer_targets.clear();
      auto add_target = [&](const std::string& field, const json& name, const json& ext) {
        if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > 64) {
          errors.add(field, "target names are non-empty strings of at most 64 characters");
        } else if (!ext.is_string() || !valid_extension(ext.get<std::string>())) {
          errors.add(field, "the extension must be a string like \"1001\"");
        } else {
          s.transfer_targets.emplace_back(name.get<std::string>(), ext.get<std::string>());
        }
      };
      if (v.is_object()) {
        for (const auto& [name, ext] : v.items()) add_target("transfer_targets." + name, json(name), ext);
      } else if (v.is_array()) {
        for (std::size_t i = 0; i < v.size(); ++i) {
          const std::string field = "transfer_targets[" + std::to_string(i) + "]";
          if (!v[i].is_object()) {
            errors.add(field, "must be {\"name\", \"extension\"}");
            continue;
          }
          add_target(field, v[i].value("name", json()), v[i].value("extension", json()));
        }
      } else {
        errors.add(key, "must be an object {\"vendas\": \"1001\"} or a list of {name, extension}");
      }
      if (s.transfer_targets.size() > 50) errors.add(key, "at most 50 targets");
    } else if (key == "fallback_extension") {
      if (auto str = string_field(v, key, errors, 64)) {
        if (!str->empty() && !valid_extension(*str)) errors.add(key, "must be an extension like \"1000\"");
        s.fallback_extension = *str;
      }
    } else if (key == "playback") {
      if (auto str = string_field(v, key, errors, 16)) {
        if (*str != "stream" && *str != "file") errors.add(key, "must be \"stream\" or \"file\"");
        s.playback = *str;
      }
    } else if (key == "max_turns") {
      if (!v.is_number_integer() || v.get<int>() < 1 || v.get<int>() > 100) {
        errors.add(key, "must be an integer from 1 to 100");
      } else {
        s.max_turns = v.get<int>();
      }
    } else if (key == "goodbye_phrases") {
      s.goodbye_phrases.clear();
      if (!v.is_array()) {
        errors.add(key, "must be a list of strings");
      } else {
        for (const auto& p : v) {
          if (auto str = string_field(p, key, errors, 200)) s.goodbye_phrases.push_back(*str);
        }
      }
    } else if (key == "faq") {
      s.faq.clear();
      if (!v.is_array()) {
        errors.add(key, "must be a list of {question, answer}");
      } else {
        for (std::size_t i = 0; i < v.size(); ++i) {
          const std::string field = "faq[" + std::to_string(i) + "]";
          if (!v[i].is_object() || !v[i].value("question", json()).is_string() ||
              !v[i].value("answer", json()).is_string()) {
            errors.add(field, "must be {\"question\": \"…\", \"answer\": \"…\"}");
            continue;
          }
          s.faq.emplace_back(v[i]["question"].get<std::string>(), v[i]["answer"].get<std::string>());
        }
      }
    } else if (key == "webhook_url") {
      if (auto str = string_field(v, key, errors, 2048)) {
        if (!str->empty() && !valid_url(*str)) errors.add(key, "must be an http(s) URL");
        s.webhook_url = *str;
      }
    } else if (key == "webhook_secret") {
      if (v.is_null()) {
        s.webhook_secret_sealed.clear();
      } else if (auto str = string_field(v, key, errors, 512)) {
        if (box == nullptr) {
          errors.add(key, "cannot store secrets: the master key is not configured");
        } else if (!str->empty()) {
          s.webhook_secret_sealed = box->seal(*str, s.domain_uuid);
        }
      }
    } else if (key == "id" || key == "domain_uuid" || key == "created_at" || key == "updated_at" ||
               key == "has_webhook_secret") {
      // Read-only fields echoed back from a GET: ignored.
    } else {
      errors.add(key, "unknown field");
    }
  }
  return errors.list;
}

json to_api_json(const Secretary& s) {
  json j = {{"id", s.id},
            {"domain_uuid", s.domain_uuid},
            {"name", s.name},
            {"language", s.language},
            {"greeting", s.greeting},
            {"system_prompt", s.system_prompt},
            {"voice", s.voice},
            {"mode", s.mode},
            {"is_default", s.is_default},
            {"enabled", s.enabled},
            {"created_at", s.created_at},
            {"updated_at", s.updated_at}};
  j.update(settings_json(s, false));
  return j;
}

store::SecretaryRecord to_record(const Secretary& s) {
  store::SecretaryRecord r;
  r.id = s.id;
  r.domain_uuid = s.domain_uuid;
  r.name = s.name;
  r.language = s.language;
  r.greeting = s.greeting;
  r.system_prompt = s.system_prompt;
  r.voice = s.voice;
  r.mode = s.mode;
  r.is_default = s.is_default;
  r.enabled = s.enabled;
  r.settings_json = settings_json(s, true).dump();
  return r;
}

Result<Secretary> from_record(const store::SecretaryRecord& r) {
  Secretary s;
  s.id = r.id;
  s.domain_uuid = r.domain_uuid;
  s.name = r.name;
  s.language = r.language;
  s.greeting = r.greeting;
  s.system_prompt = r.system_prompt;
  s.voice = r.voice;
  s.mode = r.mode;
  s.is_default = r.is_default;
  s.enabled = r.enabled;
  s.created_at = r.created_at;
  s.updated_at = r.updated_at;
  const json settings = json::parse(r.settings_json, nullptr, false);
  if (!settings.is_object()) return make_error_code(Errc::internal);
  try {
    if (auto it = settings.find("providers"); it != settings.end() && it->is_object()) {
      for (const auto& [name, chain] :
           {std::pair{"stt", &s.stt}, {"llm", &s.llm}, {"tts", &s.tts}, {"realtime", &s.realtime}}) {
        for (const auto& p : it->value(name, json::array())) {
          ProviderConfig c;
          c.vendor = p.value("vendor", "");
          c.base_url = p.value("base_url", "");
          c.model = p.value("model", "");
          c.voice = p.value("voice", "");
          c.timeout_ms = p.value("timeout_ms", std::int64_t{15'000});
          c.api_key_sealed = p.value("api_key_sealed", "");
          c.api_key_hint = p.value("api_key_hint", "");
          if (p.contains("extra")) c.extra_json = p["extra"].dump();
          chain->push_back(std::move(c));
        }
      }
    }
    // Named: a range-for over items() of a temporary would iterate a destroyed object (C++20).
    const json targets = settings.value("transfer_targets", json::object());
    if (targets.is_array()) {
      for (const auto& t : targets) {
        s.transfer_targets.emplace_back(t.at("name").get<std::string>(),
                                        t.at("extension").get<std::string>());
      }
    } else {
      for (const auto& [name, ext] : targets.items())
        s.transfer_targets.emplace_back(name, ext.get<std::string>());
    }
    s.fallback_extension = settings.value("fallback_extension", "");
    s.max_turns = settings.value("max_turns", 10);
    s.playback = settings.value("playback", "stream");
    s.goodbye_phrases = settings.value("goodbye_phrases", std::vector<std::string>{});
    for (const auto& f : settings.value("faq", json::array())) {
      s.faq.emplace_back(f.value("question", ""), f.value("answer", ""));
    }
    s.webhook_url = settings.value("webhook_url", "");
    s.webhook_secret_sealed = settings.value("webhook_secret_sealed", "");
  } catch (const json::exception&) {
    return make_error_code(Errc::internal);
  }
  return s;
}

Result<std::string> open_api_key(const ProviderConfig& p, const std::string& domain_uuid,
                                 const SecretBox* box) {
  if (p.api_key_sealed.empty()) return std::string();
  if (box == nullptr) return make_error_code(Errc::unprocessable);
  return box->open(p.api_key_sealed, domain_uuid);
}

}  // namespace ivr::conversation
