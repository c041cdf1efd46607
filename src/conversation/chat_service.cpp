#include "ivr/conversation/chat_service.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "ivr/core/logging.hpp"
#include "ivr/providers/llm.hpp"
#include "ivr/store/calls.hpp"
#include "ivr/store/redis.hpp"
#include "ivr/store/secretaries.hpp"
#include "ivr/store/usage.hpp"

namespace ivr::conversation {
namespace {

using nlohmann::json;

enum class Lang { pt, en, es };

Lang lang_of(const std::string& tag) {
  if (tag.rfind("en", 0) == 0) return Lang::en;
  if (tag.rfind("es", 0) == 0) return Lang::es;
  return Lang::pt;
}

struct Phrases {
  const char* handover;  // {} = target name
  const char* goodbye;
  const char* unknown_target;
  const char* max_turns;
  const char* no_speech;
  const char* ticket;
  const char* language_rule;
};

const Phrases& phrases(Lang l) {
  static const Phrases pt{"Vou transferir você para {}. Um momento, por favor.",
                          "Obrigada pela ligação. Até logo!",
                          "Desculpe, não posso transferir para esse destino. Posso transferir para: {}.",
                          "Vou transferir você para um atendente que poderá ajudar melhor. Um momento.",
                          "Desculpe, não consegui ouvir. Pode repetir, por favor?",
                          "Registrei a sua solicitação. Nossa equipe entrará em contato.",
                          "Responda sempre em português do Brasil."};
  static const Phrases en{"I'll transfer you to {}. One moment, please.",
                          "Thank you for calling. Goodbye!",
                          "Sorry, I can't transfer you there. I can transfer you to: {}.",
                          "I'll transfer you to someone who can help you better. One moment.",
                          "Sorry, I couldn't hear you. Could you repeat that, please?",
                          "I've recorded your request. Our team will get back to you.",
                          "Always answer in English."};
  static const Phrases es{"Le voy a transferir a {}. Un momento, por favor.",
                          "Gracias por llamar. ¡Hasta luego!",
                          "Lo siento, no puedo transferirle a ese destino. Puedo transferirle a: {}.",
                          "Le voy a transferir a un agente que podrá ayudarle mejor. Un momento.",
                          "Lo siento, no pude oírle. ¿Puede repetir, por favor?",
                          "He registrado su solicitud. Nuestro equipo se pondrá en contacto.",
                          "Responde siempre en español."};
  return l == Lang::en ? en : l == Lang::es ? es : pt;
}

std::string format1(const char* pattern, const std::string& arg) {
  std::string s = pattern;
  if (auto at = s.find("{}"); at != std::string::npos) s.replace(at, 2, arg);
  return s;
}

// Lower-case ASCII and strip Latin-1 accents encoded in UTF-8 (enough for pt/es target names).
std::string fold(const std::string& in) {
  static const std::vector<std::pair<std::string, char>> accents = {
      {"á", 'a'}, {"à", 'a'}, {"â", 'a'}, {"ã", 'a'}, {"ä", 'a'}, {"é", 'e'}, {"ê", 'e'}, {"è", 'e'},
      {"í", 'i'}, {"ì", 'i'}, {"ó", 'o'}, {"ô", 'o'}, {"õ", 'o'}, {"ò", 'o'}, {"ú", 'u'}, {"ü", 'u'},
      {"ç", 'c'}, {"ñ", 'n'}, {"Á", 'a'}, {"É", 'e'}, {"Í", 'i'}, {"Ó", 'o'}, {"Ú", 'u'}, {"Ç", 'c'},
      {"Ã", 'a'}, {"Õ", 'o'}, {"Â", 'a'}, {"Ê", 'e'}, {"Ô", 'o'}, {"Ñ", 'n'}};
  std::string out;
  for (std::size_t i = 0; i < in.size();) {
    bool replaced = false;
    if (static_cast<unsigned char>(in[i]) >= 0x80) {
      for (const auto& [from, to] : accents) {
        if (in.compare(i, from.size(), from) == 0) {
          out.push_back(to);
          i += from.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(in[i]))));
      ++i;
    }
  }
  // Trim.
  const auto b = out.find_first_not_of(" \t");
  const auto e = out.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
}

std::string target_list(const Secretary& s) {
  std::string list;
  for (const auto& [name, ext] : s.transfer_targets) list += (list.empty() ? "" : ", ") + name;
  return list;
}

std::string history_key(const ChatSettings& settings, const ChatInput& input) {
  return settings.redis_key_prefix + "call:" + input.domain_uuid + ":" + input.call_uuid + ":history";
}

}  // namespace

boost::asio::awaitable<Result<Secretary>> SecretaryDirectory::resolve(std::string domain_uuid,
                                                                      std::string domain_name,
                                                                      std::optional<std::string> id,
                                                                      bool fresh) {
  const std::string key = domain_uuid + "|" + (id ? *id : std::string());
  const auto now = std::chrono::steady_clock::now();
  if (!fresh) {
    if (auto it = cache_.find(key); it != cache_.end() && it->second.expires > now)
      co_return it->second.secretary;
  }
  Result<Secretary> loaded = co_await load(domain_uuid, domain_name, id);
  if (loaded) {
    constexpr std::size_t kMaxCached = 10'000;  // a bound, not a tuning knob: entries live seconds
    if (cache_.size() >= kMaxCached) cache_.clear();
    cache_[key] = Cached{std::chrono::steady_clock::now() + ttl_, *loaded};
  }
  co_return loaded;
}

void SecretaryDirectory::invalidate(const std::string& domain_uuid) {
  const std::string prefix = domain_uuid + "|";
  std::erase_if(cache_, [&](const auto& entry) { return entry.first.rfind(prefix, 0) == 0; });
}

boost::asio::awaitable<Result<Secretary>> SecretaryDirectory::load(const std::string& domain_uuid,
                                                                   const std::string& domain_name,
                                                                   const std::optional<std::string>& id) {
  if (id && !id->empty()) {
    Result<std::optional<store::SecretaryRecord>> found = co_await repo_.get(domain_uuid, *id);
    if (!found) co_return found.error();
    if (!found->has_value() || !(*found)->enabled) co_return make_error_code(Errc::not_found);
    co_return from_record(**found);
  }
  Result<std::optional<store::SecretaryRecord>> found = co_await repo_.get_default(domain_uuid);
  if (!found) co_return found.error();
  if (found->has_value()) co_return from_record(**found);
  Result<store::SecretaryRecord> created =
      co_await repo_.ensure_default(to_record(default_secretary(domain_uuid, domain_name)));
  if (!created) co_return created.error();
  co_return from_record(*created);
}

std::string build_system_prompt(const Secretary& s,
                                const std::vector<providers::KnowledgeSnippet>& knowledge) {
  const Phrases& p = phrases(lang_of(s.language));
  std::string prompt = s.system_prompt.empty() ? "You are a helpful phone secretary." : s.system_prompt;
  prompt += "\n\n";
  prompt += p.language_rule;
  prompt += " This is a phone call: answer in one to three short sentences, no lists, no markdown.";
  if (!s.transfer_targets.empty()) {
    prompt += "\nYou may transfer the caller with the transfer_call tool, only to one of these targets: ";
    prompt += target_list(s) + ".";
  }
  prompt +=
      "\nWhen the caller says goodbye or has nothing more to ask, call end_call. To register a request "
      "for a callback or a problem report, call create_ticket with a short summary.";
  prompt += "\nIf you cannot call tools, end your answer with [TRANSFER:<target>] or [HANGUP] instead.";
  if (!knowledge.empty()) {
    prompt += "\n\nAnswer from these passages of the company's documents when they are relevant:\n";
    for (const auto& k : knowledge) prompt += "- (" + k.document_title + ") " + k.text + "\n";
  }
  if (!s.faq.empty()) {
    prompt += "\nFrequently asked questions:\n";
    for (const auto& [q, a] : s.faq) prompt += "Q: " + q + "\nA: " + a + "\n";
  }
  return prompt;
}

std::vector<providers::ToolSpec> conversation_tools(const Secretary& s) {
  std::vector<providers::ToolSpec> tools;
  if (!s.transfer_targets.empty()) {
    json names = json::array();
    for (const auto& [name, ext] : s.transfer_targets) names.push_back(name);
    json schema = {{"type", "object"},
                   {"properties", {{"target", {{"type", "string"}, {"enum", names}}}}},
                   {"required", {"target"}}};
    tools.push_back({"transfer_call", "Transfer the caller to a department or person.", schema.dump()});
  }
  json end_schema = {{"type", "object"}, {"properties", {{"reason", {{"type", "string"}}}}}};
  tools.push_back({"end_call", "End the call politely when the caller is done.", end_schema.dump()});
  json ticket_schema = {
      {"type", "object"}, {"properties", {{"summary", {{"type", "string"}}}}}, {"required", {"summary"}}};
  tools.push_back(
      {"create_ticket", "Register the caller's request for the team to follow up.", ticket_schema.dump()});
  return tools;
}

std::optional<std::pair<std::string, std::string>> find_transfer_target(const Secretary& s,
                                                                        const std::string& asked) {
  const std::string wanted = fold(asked);
  if (wanted.empty()) return std::nullopt;
  for (const auto& target : s.transfer_targets) {
    if (fold(target.first) == wanted || target.second == wanted) return target;
  }
  return std::nullopt;
}

ChatService::ChatService(SecretaryDirectory& secretaries, store::CallRepository& calls,
                         store::RedisClient& redis, ProviderRegistry& providers, KnowledgeBase& knowledge,
                         store::UsageRepository& usage, TicketSink* tickets, ChatSettings settings)
    : secretaries_(secretaries),
      calls_(calls),
      redis_(redis),
      providers_(providers),
      knowledge_(knowledge),
      usage_(usage),
      tickets_(tickets),
      settings_(std::move(settings)) {}

boost::asio::awaitable<std::optional<std::vector<providers::ChatMessage>>> ChatService::cached_history(
    const ChatInput& input) {
  std::vector<std::string> lrange{"LRANGE", history_key(settings_, input), "0", "-1"};
  Result<store::RedisReply> cached = co_await redis_.command(std::move(lrange));
  if (!cached || cached->type != store::RedisReply::Type::array || cached->elements.empty())
    co_return std::nullopt;
  std::vector<providers::ChatMessage> history;
  for (const auto& e : cached->elements) {
    const json m = json::parse(e.str, nullptr, false);
    if (!m.is_object()) co_return std::nullopt;  // not ours: let Postgres answer
    providers::ChatMessage msg;
    msg.role = m.value("role", "user") == "assistant" ? providers::ChatMessage::Role::assistant
                                                      : providers::ChatMessage::Role::user;
    msg.content = m.value("content", "");
    history.push_back(std::move(msg));
  }
  co_return history;
}

boost::asio::awaitable<std::vector<providers::ChatMessage>> ChatService::stored_history(
    const ChatInput& input) {
  std::vector<providers::ChatMessage> history;
  Result<std::optional<store::CallRecord>> call = co_await calls_.get(input.domain_uuid, input.call_uuid);
  if (call && call->has_value()) {
    for (const auto& m : (*call)->messages) {
      providers::ChatMessage msg;
      msg.role = m.role == "assistant" ? providers::ChatMessage::Role::assistant
                                       : providers::ChatMessage::Role::user;
      msg.content = m.content;
      history.push_back(std::move(msg));
    }
  }
  co_return history;
}

boost::asio::awaitable<void> ChatService::remember(const ChatInput& input,
                                                   const std::vector<providers::ChatMessage>& earlier,
                                                   const std::string& user, const std::string& reply) {
  const std::string key = history_key(settings_, input);
  std::vector<std::string> push{"RPUSH", key};
  for (const auto& m : earlier) {  // a cold call: the cache starts with what Postgres had
    const bool assistant = m.role == providers::ChatMessage::Role::assistant;
    push.push_back(json{{"role", assistant ? "assistant" : "user"}, {"content", m.content}}.dump());
  }
  push.push_back(json{{"role", "user"}, {"content", user}}.dump());
  push.push_back(json{{"role", "assistant"}, {"content", reply}}.dump());
  std::vector<std::vector<std::string>> commands;
  commands.push_back(std::move(push));
  commands.push_back({"EXPIRE", key, std::to_string(settings_.history_ttl_seconds)});
  // One round trip. Best effort: Postgres already has the turn; a cache miss only costs a query.
  (void)co_await redis_.pipeline(std::move(commands));
}

boost::asio::awaitable<Result<ChatOutput>> ChatService::chat(ChatInput input) {
  auto log = module_logger("chat");
  const LogContext ctx{input.request_id, input.domain_uuid, input.call_uuid};

  Result<Secretary> resolved =
      co_await secretaries_.resolve(input.domain_uuid, input.domain_name, input.secretary_id);
  if (!resolved) co_return resolved.error();
  const Secretary& secretary = *resolved;
  const Phrases& say = phrases(lang_of(secretary.language));

  // A warm call (its history is in Redis, under a key of this domain) costs one Postgres transaction per
  // turn: the turn count comes from the history and the call row is known to exist. A cold one (first
  // turn, Redis restarted or down) is looked up, and created, in Postgres first.
  std::optional<std::vector<providers::ChatMessage>> history = co_await cached_history(input);
  std::vector<providers::ChatMessage> cache_seed;  // cold calls only
  int turns = 0;
  if (history) {
    turns = static_cast<int>(history->size() / 2);
  } else {
    Result<store::CallRecord> call =
        co_await calls_.ensure(input.domain_uuid, input.call_uuid, secretary.id, input.caller_id, "turn");
    if (!call) co_return call.error();
    turns = call->turns;
    history.emplace();
    if (turns > 0) *history = co_await stored_history(input);
    cache_seed = *history;
  }

  ChatOutput out;
  const std::string user_text = input.text;
  auto finish = [&](ChatOutput result) -> boost::asio::awaitable<Result<ChatOutput>> {
    store::CallMessage caller{"caller", user_text, "", "", ""};
    store::CallMessage assistant{"assistant", result.text, result.action, result.transfer_to, ""};
    Result<void> saved = co_await calls_.append_turn(input.domain_uuid, input.call_uuid, caller, assistant);
    if (!saved && saved.error() == Errc::not_found) {
      // The Redis history outlived the call row (e.g. the database was restored): recreate it.
      Result<store::CallRecord> call =
          co_await calls_.ensure(input.domain_uuid, input.call_uuid, secretary.id, input.caller_id, "turn");
      if (!call) co_return call.error();
      saved = co_await calls_.append_turn(input.domain_uuid, input.call_uuid, caller, assistant);
    }
    if (!saved) co_return saved.error();
    co_await remember(input, cache_seed, user_text, result.text);
    log->info("{} turn {}: action={}{}", ctx, turns + 1, result.action,
              result.transfer_to.empty() ? "" : " transfer_to=" + result.transfer_to);
    co_return result;
  };

  // Nothing heard: ask again (the Lua script counts these and hands over after two).
  if (user_text.find_first_not_of(" \t\r\n") == std::string::npos) {
    out.text = say.no_speech;
    co_return co_await finish(out);
  }

  // Too many turns: a human takes over.
  if (turns >= secretary.max_turns && !secretary.fallback_extension.empty()) {
    out.text = say.max_turns;
    out.action = "transfer";
    out.transfer_to = secretary.fallback_extension;
    out.transfer_target = "fallback";
    co_return co_await finish(out);
  }

  Result<std::vector<providers::KnowledgeSnippet>> knowledge =
      co_await knowledge_.search(input.domain_uuid, secretary.id, user_text, settings_.knowledge_top_k);
  std::vector<providers::KnowledgeSnippet> snippets =
      knowledge ? std::move(*knowledge) : std::vector<providers::KnowledgeSnippet>{};
  for (const auto& k : snippets) out.sources.push_back({k.document_title, k.score});

  providers::ChatRequest request;
  request.messages.push_back(
      {providers::ChatMessage::Role::system, build_system_prompt(secretary, snippets), {}, {}, {}});
  const std::size_t keep = static_cast<std::size_t>(settings_.max_history_messages);
  if (history->size() > keep)
    history->erase(history->begin(), history->end() - static_cast<std::ptrdiff_t>(keep));
  for (auto& m : *history) request.messages.push_back(std::move(m));
  request.messages.push_back({providers::ChatMessage::Role::user, user_text, {}, {}, {}});
  request.tools = conversation_tools(secretary);
  request.knowledge = snippets;
  request.hints.language = secretary.language;
  request.hints.greeting = secretary.greeting;
  request.hints.faq = secretary.faq;
  request.hints.transfer_targets = secretary.transfer_targets;
  request.hints.goodbye_phrases = secretary.goodbye_phrases;

  Result<std::unique_ptr<providers::LanguageModel>> model = providers_.language_model(secretary);
  if (!model) co_return model.error();
  providers::TokenCallback no_streaming;  // named: no braced temporaries inside co_await (GCC 12, STYLE.md)
  Result<providers::ChatResult> answer =
      co_await (*model)->complete(std::move(request), std::move(no_streaming));
  if (!answer) {
    log->warn("{} every language model failed: {}", ctx, answer.error().message());
    co_return answer.error();
  }
  out.provider = answer->provider;
  out.text = answer->text;
  std::vector<providers::ToolCall> actions = answer->tool_calls;
  for (auto& marker : providers::parse_action_markers(out.text)) actions.push_back(std::move(marker));

  for (const auto& call_tool : actions) {
    const json args = json::parse(call_tool.arguments_json, nullptr, false);
    if (call_tool.name == "transfer_call") {
      const std::string asked = args.is_object() ? args.value("target", "") : "";
      if (auto target = find_transfer_target(secretary, asked)) {
        out.action = "transfer";
        out.transfer_target = target->first;
        out.transfer_to = target->second;
        if (out.text.empty()) out.text = format1(say.handover, target->first);
      } else {
        log->info("{} model asked for a transfer to '{}', which is not allowed", ctx, asked);
        out.text = format1(say.unknown_target, target_list(secretary));
      }
      break;  // the first action decides the call's fate
    }
    if (call_tool.name == "end_call") {
      out.action = "hangup";
      if (out.text.empty()) out.text = say.goodbye;
      break;
    }
    if (call_tool.name == "create_ticket") {
      const std::string summary = args.is_object() ? args.value("summary", user_text) : user_text;
      if (tickets_ != nullptr) {
        Result<void> queued =
            co_await tickets_->ticket_requested(secretary, input.call_uuid, input.caller_id, summary);
        if (!queued) log->warn("{} could not queue the ticket: {}", ctx, queued.error().message());
      }
      if (out.text.empty()) out.text = say.ticket;
    }
  }
  if (out.text.empty()) out.text = say.no_speech;

  if (answer->usage.prompt_tokens > 0 || answer->usage.completion_tokens > 0) {
    // Named first: GCC 12 miscompiles a braced list inside a co_await expression (STYLE.md).
    store::UsageEvent usage{
        input.domain_uuid,
        input.call_uuid,
        "llm",
        answer->provider,
        static_cast<double>(answer->usage.prompt_tokens + answer->usage.completion_tokens),
        "tokens"};
    (void)co_await usage_.record(std::move(usage));
  }
  co_return co_await finish(out);
}

}  // namespace ivr::conversation
