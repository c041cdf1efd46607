// The offline extractive "language model": intent rules for hangup and transfer, answers picked from the
// FAQ and the knowledge snippets. Deterministic, no network, no allocation-heavy NLP: word overlap on
// accent-folded, lightly stemmed words is enough for the short questions callers ask (see llm.hpp).

#include "ivr/providers/llm.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ivr::providers {
namespace {

constexpr std::string_view kName = "extractive";

enum class Lang { pt, en, es };

Lang language_of(std::string_view tag) {
  auto starts = [&](std::string_view p) {
    return tag.size() >= 2 && std::tolower(static_cast<unsigned char>(tag[0])) == p[0] &&
           std::tolower(static_cast<unsigned char>(tag[1])) == p[1];
  };
  if (starts("en")) return Lang::en;
  if (starts("es")) return Lang::es;
  return Lang::pt;  // the product's home language, also for an empty or unknown hint
}

std::string_view pick(Lang lang, std::string_view pt, std::string_view en, std::string_view es) {
  return lang == Lang::en ? en : lang == Lang::es ? es : pt;
}

// ---- text folding ----

// Latin-1 Supplement letters U+00C0..U+00FF without their accents, lower case (' ' for × and ÷).
constexpr std::string_view kLatin1Base =
    "aaaaaaaceeeeiiiidnooooo ouuuuyts"
    "aaaaaaaceeeeiiiidnooooo ouuuuyty";

// Lower case, accents removed, apostrophes dropped ("that's" → "thats"), every other punctuation mark a
// space. Characters outside ASCII and Latin-1 are kept as they are (they still compare equal to themselves).
std::string fold(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      if (std::isalnum(c))
        out.push_back(static_cast<char>(std::tolower(c)));
      else if (c != '\'')
        out.push_back(' ');
      ++i;
      continue;
    }
    std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (i + len > in.size()) len = 1;
    char32_t cp = 0;
    if (len == 2) cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(in[i + 1]) & 0x3Fu);
    if (len == 3) {
      cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(in[i + 1]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(in[i + 2]) & 0x3Fu);
    }
    if (cp >= 0xC0 && cp <= 0xFF) {
      out.push_back(kLatin1Base[cp - 0xC0]);
    } else if (cp == 0x2018 || cp == 0x2019) {
      // typographic apostrophe: dropped like '\''
    } else if ((cp >= 0xA0 && cp <= 0xBF) || (cp >= 0x2000 && cp <= 0x206F)) {
      out.push_back(' ');  // ¡ ¿ « » nbsp, dashes, quotes, ellipsis
    } else {
      out.append(in.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::vector<std::string> words(std::string_view text) {
  const std::string folded = fold(text);
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = folded.find_first_not_of(' ', pos)) != std::string::npos) {
    const auto end = folded.find(' ', pos);
    out.push_back(folded.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

bool contains_phrase(const std::vector<std::string>& text, const std::vector<std::string>& phrase) {
  if (phrase.empty() || phrase.size() > text.size()) return false;
  return std::search(text.begin(), text.end(), phrase.begin(), phrase.end()) != text.end();
}

bool contains_any_phrase(const std::vector<std::string>& text, std::span<const std::string_view> phrases) {
  return std::any_of(phrases.begin(), phrases.end(),
                     [&](std::string_view p) { return contains_phrase(text, words(p)); });
}

bool contains_any_word(const std::vector<std::string>& text, std::span<const std::string_view> list) {
  return std::any_of(text.begin(), text.end(), [&](const std::string& w) {
    return std::find(list.begin(), list.end(), w) != list.end();
  });
}

bool contains_any_phrase(const std::vector<std::string>& text,
                         std::initializer_list<std::string_view> phrases) {
  return contains_any_phrase(text, std::span<const std::string_view>(phrases.begin(), phrases.size()));
}

bool contains_any_word(const std::vector<std::string>& text, std::initializer_list<std::string_view> list) {
  return contains_any_word(text, std::span<const std::string_view>(list.begin(), list.size()));
}

// Function words of the three languages: they say nothing about what is asked.
constexpr std::string_view kStopwords[] = {
    "a",     "o",        "os",    "as",     "de",   "da",     "do",    "das",    "dos",   "e",       "em",
    "no",    "na",       "nos",   "nas",    "um",   "uma",    "que",   "qual",   "quais", "para",    "pra",
    "por",   "com",      "se",    "eu",     "voce", "voces",  "meu",   "minha",  "seu",   "sua",     "ao",
    "me",    "tem",      "ter",   "sao",    "ser",  "esta",   "isso",  "isto",   "ola",   "oi",      "por",
    "favor", "gostaria", "saber", "the",    "an",   "of",     "to",    "is",     "are",   "what",    "when",
    "where", "how",      "do",    "does",   "i",    "you",    "your",  "my",     "for",   "in",      "on",
    "at",    "and",      "can",   "please", "it",   "el",     "la",    "los",    "las",   "del",     "y",
    "es",    "en",       "un",    "una",    "cual", "cuales", "mi",    "su",     "usted", "ustedes", "lo",
    "al",    "hay",      "hello", "hi",     "hola", "be",     "there", "quiero", "want"};

bool is_stopword(std::string_view w) {
  return std::find(std::begin(kStopwords), std::end(kStopwords), w) != std::end(kStopwords);
}

// Light stemming that survives plurals and verb endings well enough for overlap scoring:
// "horários" → "horari", "funcionamento"/"funcionamos" → "funcio", "finanças"/"financeiro" → "financ".
std::string stem(std::string w) {
  if (w.size() > 3 && w.back() == 's') w.pop_back();
  if (w.size() > 6) w.resize(6);
  return w;
}

std::set<std::string> content_stems(std::string_view text) {
  std::set<std::string> out;
  for (auto& w : words(text)) {
    if (w.size() < 2 || is_stopword(w)) continue;
    out.insert(stem(std::move(w)));
  }
  return out;
}

std::size_t overlap(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::size_t n = 0;
  for (const auto& s : a) n += b.count(s);
  return n;
}

// ---- intents ----

constexpr std::string_view kFarewells[] = {
    // pt
    "tchau", "até logo", "até mais", "até a próxima", "era só isso", "é só isso", "só isso obrigado",
    "pode desligar", "adeus",
    // en
    "bye", "goodbye", "good bye", "that's all", "that is all", "see you", "hang up",
    // es
    "adiós", "hasta luego", "hasta pronto", "hasta la próxima", "eso es todo", "chao", "chau", "nos vemos"};

constexpr std::string_view kHumanRequests[] = {
    // pt
    "atendente", "falar com alguém", "falar com uma pessoa", "pessoa", "humano", "operador", "operadora",
    "recepcionista", "recepção",
    // en
    "human", "agent", "operator", "representative", "real person", "talk to someone", "speak to someone",
    "speak with someone", "receptionist",
    // es
    "persona", "agente", "hablar con alguien", "recepcionista"};

// Words that make a question about a department a request to be put through ("posso falar com o
// financeiro?" transfers, "o financeiro abre sábado?" is answered).
constexpr std::string_view kTransferVerbs[] = {
    "falar",    "fala",       "transferir", "transfere",  "transfira",  "ligar",       "liga",
    "passar",   "passa",      "passe",      "conectar",   "encaminhar", "encaminha",   "quero",
    "gostaria", "talk",       "speak",      "transfer",   "connect",    "put",         "want",
    "hablar",   "transferir", "transfiera", "transfiere", "comunicar",  "comuniqueme", "pasar",
    "paseme",   "conectar",   "quiero"};

constexpr std::string_view kQuestionWords[] = {
    "qual",  "quais", "quando", "onde",   "como",  "quanto", "quanta", "quantos", "quantas", "que",
    "voces", "what",  "when",   "where",  "how",   "which",  "who",    "does",    "do",      "is",
    "are",   "cual",  "cuales", "cuando", "donde", "cuanto", "cuanta", "quien",   "tienen"};

constexpr std::string_view kGenericTargetWords[] = {
    "setor",  "departamento", "depto", "area", "equipe", "time", "department", "team",
    "sector", "de",           "do",    "da",   "of",     "the",  "el",         "la"};

constexpr std::string_view kGreetingWords[] = {
    "oi",      "ola",   "alo",   "bom",    "boa",    "dia",  "tarde",   "noite",
    "tudo",    "bem",   "hello", "hi",     "hey",    "good", "morning", "afternoon",
    "evening", "there", "hola",  "buenos", "buenas", "dias", "tardes",  "noches"};

bool is_question(std::string_view raw, const std::vector<std::string>& w) {
  if (raw.find('?') != std::string_view::npos || raw.find("\xC2\xBF") != std::string_view::npos) return true;
  return !w.empty() && std::find(std::begin(kQuestionWords), std::end(kQuestionWords), w.front()) !=
                           std::end(kQuestionWords);
}

// Index of the transfer target the text names (most matching words; ties → the first), or -1.
int named_target(const std::vector<std::string>& text, const ConversationHints& hints) {
  std::set<std::string> text_stems;
  for (const auto& w : text) text_stems.insert(stem(w));
  int best = -1;
  std::size_t best_score = 0;
  for (std::size_t i = 0; i < hints.transfer_targets.size(); ++i) {
    auto name = words(hints.transfer_targets[i].first);
    std::vector<std::string> significant;
    for (const auto& w : name) {
      if (w.size() >= 3 && std::find(std::begin(kGenericTargetWords), std::end(kGenericTargetWords), w) ==
                               std::end(kGenericTargetWords)) {
        significant.push_back(w);
      }
    }
    if (significant.empty()) significant = std::move(name);
    std::size_t score = 0;
    for (const auto& w : significant) score += text_stems.count(stem(w));
    if (score > best_score) {
      best_score = score;
      best = static_cast<int>(i);
    }
  }
  return best;
}

// Did the model's last turn offer a transfer (our fallback question)?
bool offered_transfer(const ChatRequest& request, std::size_t before) {
  for (std::size_t i = before; i-- > 0;) {
    const auto& m = request.messages[i];
    if (m.role != ChatMessage::Role::assistant) continue;
    return contains_any_phrase(words(m.content),
                               {"posso transferir você", "transfer you to an attendant", "le transfiera"});
  }
  return false;
}

// ---- answers ----

std::vector<std::string_view> sentences(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const bool end = i == text.size() || text[i] == '\n' ||
                     ((text[i] == '.' || text[i] == '!' || text[i] == '?') &&
                      (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n'));
    if (!end) continue;
    const std::size_t stop = i == text.size() || text[i] == '\n' ? i : i + 1;  // keep the full stop
    std::string_view s = text.substr(start, stop - start);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    if (!s.empty()) out.push_back(s);
    start = i + 1;
  }
  return out;
}

std::string best_faq_answer(const std::set<std::string>& question, const ConversationHints& hints) {
  const std::string* best = nullptr;
  double best_score = 0;
  for (const auto& [faq_question, answer] : hints.faq) {
    const auto stems = content_stems(faq_question);
    if (stems.empty()) continue;
    const auto n = overlap(question, stems);
    const double score = static_cast<double>(n) / static_cast<double>(stems.size());
    if (n == 0 || (score < 0.5 && n < 2)) continue;
    if (score > best_score) {
      best_score = score;
      best = &answer;
    }
  }
  return best ? *best : std::string();
}

std::string best_knowledge_sentences(const std::set<std::string>& question, const ChatRequest& request) {
  constexpr std::size_t kSnippets = 5;
  constexpr std::size_t kMaxAnswer = 400;
  std::vector<const KnowledgeSnippet*> ranked;
  for (const auto& s : request.knowledge) ranked.push_back(&s);
  std::stable_sort(ranked.begin(), ranked.end(), [](auto* a, auto* b) { return a->score > b->score; });
  if (ranked.size() > kSnippets) ranked.resize(kSnippets);

  std::size_t best_snippet = 0, best_sentence = 0, best_score = 0;
  std::vector<std::vector<std::pair<std::string_view, std::size_t>>> scored(ranked.size());
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    for (auto s : sentences(ranked[i]->text)) {
      const auto score = overlap(question, content_stems(s));
      scored[i].emplace_back(s, score);
      if (score > best_score) {
        best_score = score;
        best_snippet = i;
        best_sentence = scored[i].size() - 1;
      }
    }
  }
  if (best_score == 0) return {};
  // A second sentence of the same snippet, when it also speaks of the question, completes the answer.
  const auto& list = scored[best_snippet];
  std::size_t second = list.size();
  for (std::size_t j = 0; j < list.size(); ++j) {
    if (j == best_sentence || list[j].second == 0) continue;
    if (second == list.size() || list[j].second > list[second].second) second = j;
  }
  std::string answer(list[best_sentence].first);
  if (second != list.size() && answer.size() + list[second].first.size() < kMaxAnswer) {
    answer = second < best_sentence ? std::string(list[second].first) + " " + answer
                                    : answer + " " + std::string(list[second].first);
  }
  return answer;
}

// ---- the model ----

class ExtractiveLanguageModel final : public LanguageModel {
 public:
  std::string_view name() const override { return kName; }

  boost::asio::awaitable<Result<ChatResult>> complete(ChatRequest request, TokenCallback on_token) override {
    ChatResult result = respond(request);
    if (on_token && !result.text.empty()) on_token(result.text);
    co_return result;
  }

 private:
  static ChatResult respond(const ChatRequest& request) {
    const Lang lang = language_of(request.hints.language);
    const auto& hints = request.hints;
    ChatResult result;
    result.provider = std::string(kName);

    std::size_t user_at = request.messages.size();
    for (std::size_t i = request.messages.size(); i-- > 0;) {
      if (request.messages[i].role == ChatMessage::Role::user) {
        user_at = i;
        break;
      }
    }
    if (user_at == request.messages.size()) {
      result.text = !hints.greeting.empty()
                        ? hints.greeting
                        : std::string(pick(lang, "Olá! Como posso ajudar?", "Hello! How can I help you?",
                                           "¡Hola! ¿En qué puedo ayudarle?"));
      return result;
    }
    const std::string& said = request.messages[user_at].content;
    const auto w = words(said);
    if (w.empty()) {
      result.text = pick(lang, "Desculpe, não entendi. Pode repetir, por favor?",
                         "Sorry, I didn't catch that. Could you repeat, please?",
                         "Disculpe, no le entendí. ¿Puede repetir, por favor?");
      return result;
    }
    // A bare greeting ("bom dia", "hello") gets a greeting back, not "I couldn't find that".
    if (std::all_of(w.begin(), w.end(), [](const std::string& x) {
          return std::find(std::begin(kGreetingWords), std::end(kGreetingWords), x) !=
                 std::end(kGreetingWords);
        })) {
      result.text = pick(lang, "Olá! Como posso ajudar?", "Hello! How can I help you?",
                         "¡Hola! ¿En qué puedo ayudarle?");
      return result;
    }
    const bool question = is_question(said, w);

    // 1. goodbye (a question that happens to contain "é só isso" is not one)
    bool goodbye = !question && contains_any_phrase(w, kFarewells);
    for (const auto& phrase : hints.goodbye_phrases) {
      if (!goodbye) goodbye = contains_phrase(w, words(phrase));
    }
    if (goodbye) {
      result.text =
          pick(lang, "Obrigado pela ligação. Tenha um ótimo dia!", "Thank you for calling. Have a great day!",
               "Gracias por llamar. ¡Que tenga un buen día!");
      act(request, result, kEndCallTool, nlohmann::json{{"reason", "caller_goodbye"}});
      return result;
    }

    // 2. transfer
    int target = named_target(w, hints);
    if (target >= 0 && question && !contains_any_word(w, kTransferVerbs)) target = -1;  // asked about it
    bool wants_human = contains_any_phrase(w, kHumanRequests);
    if (!wants_human && w.size() <= 5 && offered_transfer(request, user_at) &&
        !contains_any_word(w, {"nao", "no", "not", "nope"})) {
      wants_human = contains_any_word(w, {"sim", "pode", "claro", "quero", "ok", "yes", "sure", "yeah",
                                          "please", "si", "vale", "bueno", "favor"});
    } else if (!wants_human && w.size() <= 5 && offered_transfer(request, user_at)) {
      result.text =
          pick(lang, "Tudo bem. Posso ajudar em algo mais?", "All right. Can I help you with anything else?",
               "Muy bien. ¿Puedo ayudarle en algo más?");
      return result;
    }
    if (target < 0 && wants_human) {
      if (hints.transfer_targets.empty()) {
        result.text =
            pick(lang, "No momento não consigo transferir a ligação. Posso ajudar em algo mais?",
                 "I'm sorry, I can't transfer the call right now. Can I help you with anything else?",
                 "Lo siento, ahora no puedo transferir la llamada. ¿Puedo ayudarle en algo más?");
        return result;
      }
      target = 0;
    }
    if (target >= 0) {
      const std::string& name = hints.transfer_targets[static_cast<std::size_t>(target)].first;
      result.text = std::string(pick(lang, "Vou transferir você para o setor ", "I'll transfer you to ",
                                     "Le voy a transferir con ")) +
                    name +
                    std::string(pick(lang, ". Um momento, por favor.", ". One moment, please.",
                                     ". Un momento, por favor."));
      act(request, result, kTransferCallTool, nlohmann::json{{"target", name}});
      return result;
    }

    // 3. answer
    const auto asked = content_stems(said);
    const std::string anything_else =
        std::string(pick(lang, " Posso ajudar em algo mais?", " Can I help you with anything else?",
                         " ¿Puedo ayudarle en algo más?"));
    if (auto faq = best_faq_answer(asked, hints); !faq.empty()) {
      result.text = faq + anything_else;
      return result;
    }
    if (auto found = best_knowledge_sentences(asked, request); !found.empty()) {
      result.text =
          std::string(pick(
              lang, "Encontrei esta informação: ", "Here is what I found: ", "Esto es lo que encontré: ")) +
          found + anything_else;
      return result;
    }
    result.text =
        hints.transfer_targets.empty()
            ? pick(lang, "Desculpe, não encontrei essa informação. Pode perguntar de outra forma?",
                   "Sorry, I couldn't find that information. Could you ask in another way?",
                   "Lo siento, no encontré esa información. ¿Puede preguntarlo de otra forma?")
            : pick(lang, "Desculpe, não encontrei essa informação. Posso transferir você para um atendente?",
                   "Sorry, I couldn't find that information. Would you like me to transfer you to an "
                   "attendant?",
                   "Lo siento, no encontré esa información. ¿Quiere que le transfiera con un agente?");
    return result;
  }

  // The action as a tool call when the request offers that tool, else as a marker at the end of the text.
  static void act(const ChatRequest& request, ChatResult& result, std::string_view tool,
                  const nlohmann::json& args) {
    ToolCall call{"extractive_" + std::to_string(request.messages.size()) + "_" + std::string(tool),
                  std::string(tool), args.dump()};
    const bool offered = std::any_of(request.tools.begin(), request.tools.end(),
                                     [&](const ToolSpec& spec) { return spec.name == tool; });
    if (offered) {
      result.tool_calls.push_back(std::move(call));
    } else {
      result.text += " " + action_marker(call);
    }
  }
};

}  // namespace

std::unique_ptr<LanguageModel> make_extractive_llm() {
  return std::make_unique<ExtractiveLanguageModel>();
}

}  // namespace ivr::providers
