#include "ivr/providers/llm.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "support/test_env.hpp"

namespace ivr::providers {
namespace {

using nlohmann::json;

ConversationHints hints(std::string language) {
  ConversationHints h;
  h.language = std::move(language);
  h.greeting = "Olá, aqui é a secretária virtual da ACME.";
  h.faq = {{"Qual o endereço de vocês?", "Ficamos na Rua das Flores, 123, no centro."},
           {"Vocês aceitam cartão de crédito?", "Sim, aceitamos cartão de crédito e débito."}};
  h.transfer_targets = {{"financeiro", "2001"}, {"vendas", "2002"}, {"suporte técnico", "2003"}};
  return h;
}

std::vector<ToolSpec> call_tools() {
  return {{std::string(kTransferCallTool), "Transfer", ""}, {std::string(kEndCallTool), "Hang up", ""}};
}

class ExtractiveTest : public ::testing::Test {
 protected:
  ChatResult ask(std::string text, std::string language = "pt-BR", bool with_tools = true,
                 std::vector<KnowledgeSnippet> knowledge = {}, std::vector<ChatMessage> before = {}) {
    ChatRequest r;
    r.messages.push_back({ChatMessage::Role::system, "prompt", {}, "", ""});
    for (auto& m : before) r.messages.push_back(std::move(m));
    r.messages.push_back({ChatMessage::Role::user, std::move(text), {}, "", ""});
    r.hints = hints(std::move(language));
    r.knowledge = std::move(knowledge);
    if (with_tools) r.tools = call_tools();
    auto result = test::run(io_, llm_->complete(std::move(r)));
    EXPECT_TRUE(result) << result.error().message();
    return result ? *result : ChatResult{};
  }

  static void expect_call(const ChatResult& r, std::string_view tool, const json& args) {
    ASSERT_EQ(r.tool_calls.size(), 1u) << r.text;
    EXPECT_EQ(r.tool_calls[0].name, tool);
    EXPECT_EQ(json::parse(r.tool_calls[0].arguments_json), args);
    EXPECT_FALSE(r.tool_calls[0].id.empty());
  }

  boost::asio::io_context io_;
  std::unique_ptr<LanguageModel> llm_ = make_extractive_llm();
};

TEST_F(ExtractiveTest, GoodbyeInEveryLanguageEndsTheCall) {
  const json bye = {{"reason", "caller_goodbye"}};
  for (const char* text : {"Tchau!", "Obrigado, era só isso.", "até logo", "ATÉ LOGO, obrigada"}) {
    auto r = ask(text, "pt-BR");
    expect_call(r, kEndCallTool, bye);
    EXPECT_EQ(r.text, "Obrigado pela ligação. Tenha um ótimo dia!") << text;
  }
  for (const char* text : {"Bye!", "ok that's all, thanks", "Goodbye"}) {
    auto r = ask(text, "en-US");
    expect_call(r, kEndCallTool, bye);
    EXPECT_EQ(r.text, "Thank you for calling. Have a great day!") << text;
  }
  for (const char* text : {"¡Adiós!", "Hasta luego", "gracias, eso es todo"}) {
    auto r = ask(text, "es");
    expect_call(r, kEndCallTool, bye);
    EXPECT_EQ(r.text, "Gracias por llamar. ¡Que tenga un buen día!") << text;
  }
  EXPECT_EQ(ask("tchau").provider, "extractive");
}

TEST_F(ExtractiveTest, QuestionsAreNotGoodbyes) {
  EXPECT_TRUE(ask("O desconto é só isso?").tool_calls.empty());
  EXPECT_TRUE(ask("Is that all you sell?", "en").tool_calls.empty());
}

TEST_F(ExtractiveTest, ConfiguredGoodbyePhrase) {
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::user, "Valeu, falou!", {}, "", ""});
  r.hints = hints("pt-BR");
  r.hints.goodbye_phrases = {"falou"};
  r.tools = call_tools();
  auto result = test::run(io_, llm_->complete(std::move(r)));
  ASSERT_TRUE(result);
  expect_call(*result, kEndCallTool, {{"reason", "caller_goodbye"}});
}

TEST_F(ExtractiveTest, TransferToANamedTarget) {
  auto r = ask("Quero falar com o financeiro");
  expect_call(r, kTransferCallTool, {{"target", "financeiro"}});
  EXPECT_EQ(r.text, "Vou transferir você para o setor financeiro. Um momento, por favor.");

  expect_call(ask("me passa pro setor de VENDAS por favor"), kTransferCallTool, {{"target", "vendas"}});
  expect_call(ask("Preciso do suporte técnico"), kTransferCallTool, {{"target", "suporte técnico"}});
  expect_call(ask("Finanças, por favor"), kTransferCallTool, {{"target", "financeiro"}});
  expect_call(ask("Can I talk to sales? Vendas", "en"), kTransferCallTool, {{"target", "vendas"}});
  auto es = ask("Quiero hablar con financiero", "es");
  expect_call(es, kTransferCallTool, {{"target", "financeiro"}});
  EXPECT_EQ(es.text, "Le voy a transferir con financeiro. Un momento, por favor.");
}

TEST_F(ExtractiveTest, AskingForAHumanTransfersToTheFirstTarget) {
  for (const char* text : {"Quero falar com um atendente", "posso falar com alguém?", "operador"}) {
    expect_call(ask(text), kTransferCallTool, {{"target", "financeiro"}});
  }
  expect_call(ask("I want a human agent", "en"), kTransferCallTool, {{"target", "financeiro"}});
  expect_call(ask("Quiero hablar con una persona", "es"), kTransferCallTool, {{"target", "financeiro"}});
}

TEST_F(ExtractiveTest, QuestionAboutATargetIsAnsweredNotTransferred) {
  auto r = ask("Qual o horário do financeiro?", "pt-BR", true,
               {{"Manual", "O financeiro funciona de segunda a sexta, das 9h às 17h.", 0.9}});
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_NE(r.text.find("das 9h às 17h"), std::string::npos) << r.text;
}

TEST_F(ExtractiveTest, OpeningHoursFromKnowledge) {
  const std::vector<KnowledgeSnippet> knowledge = {
      {"Sobre a empresa", "A ACME foi fundada em 1990. Vendemos peças automotivas.", 0.8},
      {"Atendimento",
       "Nosso estacionamento é gratuito. O horário de funcionamento é de segunda a sexta, das 8h às 18h. "
       "Aos sábados funcionamos das 8h às 12h. Não abrimos aos domingos.",
       0.7}};
  auto r = ask("Qual o horário de funcionamento?", "pt-BR", true, knowledge);
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.text.rfind("Encontrei esta informação: ", 0), 0u) << r.text;
  EXPECT_NE(r.text.find("das 8h às 18h"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("estacionamento"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("Posso ajudar em algo mais?"), std::string::npos);
}

TEST_F(ExtractiveTest, OpeningHoursFromFaq) {
  ChatRequest req;
  req.messages.push_back({ChatMessage::Role::user, "Qual o horário de funcionamento?", {}, "", ""});
  req.hints = hints("pt-BR");
  req.hints.faq.push_back(
      {"Qual é o horário de atendimento?", "Atendemos de segunda a sexta, das 8h às 18h."});
  auto r = test::run(io_, llm_->complete(std::move(req)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, "Atendemos de segunda a sexta, das 8h às 18h. Posso ajudar em algo mais?");
  EXPECT_EQ(ask("Vocês aceitam cartão?").text,
            "Sim, aceitamos cartão de crédito e débito. Posso ajudar em algo mais?");
  EXPECT_EQ(ask("Onde fica o endereço?").text.find("Ficamos na Rua das Flores"), 0u);
}

TEST_F(ExtractiveTest, EnglishAndSpanishAnswersFromKnowledge) {
  auto en = ask("What are your opening hours?", "en", true,
                {{"Hours", "Parking is free. Our opening hours are 8am to 6pm, Monday to Friday.", 1}});
  EXPECT_EQ(en.text,
            "Here is what I found: Our opening hours are 8am to 6pm, Monday to Friday. Can I help you with "
            "anything else?");
  auto es = ask("¿Cuál es el horario de atención?", "es", true,
                {{"Horario", "El horario de atención es de 9 a 17 horas.", 1}});
  EXPECT_NE(es.text.find("de 9 a 17 horas"), std::string::npos) << es.text;
  EXPECT_EQ(es.text.rfind("Esto es lo que encontré: ", 0), 0u) << es.text;
}

TEST_F(ExtractiveTest, NoMatchOffersATransfer) {
  auto r = ask("Vocês vendem foguetes espaciais?", "pt-BR", true,
               {{"Sobre", "A ACME vende peças automotivas desde 1990.", 0.2}});
  EXPECT_TRUE(r.tool_calls.empty());
  EXPECT_EQ(r.text, "Desculpe, não encontrei essa informação. Posso transferir você para um atendente?");
  EXPECT_EQ(ask("Do you sell rockets?", "en").text,
            "Sorry, I couldn't find that information. Would you like me to transfer you to an attendant?");
  EXPECT_EQ(ask("¿Venden cohetes?", "es").text,
            "Lo siento, no encontré esa información. ¿Quiere que le transfiera con un agente?");
}

TEST_F(ExtractiveTest, YesAfterTheOfferTransfersNoDeclines) {
  const std::vector<ChatMessage> before = {
      {ChatMessage::Role::user, "Vocês vendem foguetes?", {}, "", ""},
      {ChatMessage::Role::assistant,
       "Desculpe, não encontrei essa informação. Posso transferir você para um atendente?",
       {},
       "",
       ""}};
  expect_call(ask("Sim, por favor", "pt-BR", true, {}, before), kTransferCallTool,
              {{"target", "financeiro"}});
  auto no = ask("Não, obrigado", "pt-BR", true, {}, before);
  EXPECT_TRUE(no.tool_calls.empty());
  EXPECT_EQ(no.text, "Tudo bem. Posso ajudar em algo mais?");
}

TEST_F(ExtractiveTest, GreetingAndSilence) {
  ChatRequest r;
  r.hints = hints("pt-BR");
  auto greet = test::run(io_, llm_->complete(r));
  ASSERT_TRUE(greet);
  EXPECT_EQ(greet->text, "Olá, aqui é a secretária virtual da ACME.");
  EXPECT_EQ(ask("  ...  ").text, "Desculpe, não entendi. Pode repetir, por favor?");
  EXPECT_EQ(ask("Oi, bom dia!").text, "Olá! Como posso ajudar?");
  EXPECT_EQ(ask("Hello there", "en").text, "Hello! How can I help you?");
  EXPECT_EQ(ask("Buenas tardes", "es").text, "¡Hola! ¿En qué puedo ayudarle?");
}

TEST_F(ExtractiveTest, MarkersWhenToolsAreNotOffered) {
  auto transfer = ask("quero falar com o financeiro", "pt-BR", /*with_tools=*/false);
  EXPECT_TRUE(transfer.tool_calls.empty());
  EXPECT_EQ(transfer.text,
            "Vou transferir você para o setor financeiro. Um momento, por favor. [TRANSFER:financeiro]");
  auto calls = parse_action_markers(transfer.text);
  EXPECT_EQ(transfer.text, "Vou transferir você para o setor financeiro. Um momento, por favor.");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, kTransferCallTool);
  EXPECT_EQ(json::parse(calls[0].arguments_json), json({{"target", "financeiro"}}));

  auto bye = ask("bye", "en", /*with_tools=*/false);
  EXPECT_EQ(bye.text, "Thank you for calling. Have a great day! [HANGUP]");
  calls = parse_action_markers(bye.text);
  EXPECT_EQ(bye.text, "Thank you for calling. Have a great day!");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, kEndCallTool);
  EXPECT_EQ(json::parse(calls[0].arguments_json), json({{"reason", "caller_goodbye"}}));
}

TEST_F(ExtractiveTest, OnlyOfferedToolsAreCalled) {
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::user, "tchau", {}, "", ""});
  r.hints = hints("pt-BR");
  r.tools = {{std::string(kTransferCallTool), "", ""}};  // end_call not offered
  auto result = test::run(io_, llm_->complete(std::move(r)));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->tool_calls.empty());
  EXPECT_EQ(result->text, "Obrigado pela ligação. Tenha um ótimo dia! [HANGUP]");
}

TEST_F(ExtractiveTest, OnTokenGetsTheWholeText) {
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::user, "tchau", {}, "", ""});
  std::vector<std::string> fragments;
  auto result =
      test::run(io_, llm_->complete(std::move(r), [&](std::string_view f) { fragments.emplace_back(f); }));
  ASSERT_TRUE(result);
  EXPECT_EQ(fragments, std::vector<std::string>{result->text});
}

TEST(ActionMarkersLlm, ParsesStripsAndKeepsOrder) {
  std::string text = "Certo. [transfer: Suporte Técnico ] Até logo! [HANGUP:transferred]";
  auto calls = parse_action_markers(text);
  EXPECT_EQ(text, "Certo. Até logo!");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].id, "marker_1");
  EXPECT_EQ(calls[0].name, kTransferCallTool);
  EXPECT_EQ(json::parse(calls[0].arguments_json), json({{"target", "Suporte Técnico"}}));
  EXPECT_EQ(calls[1].id, "marker_2");
  EXPECT_EQ(calls[1].name, kEndCallTool);
  EXPECT_EQ(json::parse(calls[1].arguments_json), json({{"reason", "transferred"}}));
}

TEST(ActionMarkersLlm, LeavesLookalikesAlone) {
  for (std::string text : {"Veja o item [2] da lista.", "[TRANSFER]", "[TRANSFER:]", "[HANGUPS]", "[nota] ok",
                           "aberto [TRANSFER:vendas", "[TRANSFER:a\nb]"}) {
    const std::string before = text;
    EXPECT_TRUE(parse_action_markers(text).empty()) << before;
    EXPECT_EQ(text, before);
  }
  std::string only = "[HANGUP]";
  EXPECT_EQ(parse_action_markers(only).size(), 1u);
  EXPECT_EQ(only, "");
  std::string nested = "[x [HANGUP] y]";
  EXPECT_EQ(parse_action_markers(nested).size(), 1u);
  EXPECT_EQ(nested, "[x y]");
}

TEST(ActionMarkersLlm, MarkerRoundTrip) {
  EXPECT_EQ(action_marker({"1", "transfer_call", R"({"target":"vendas"})"}), "[TRANSFER:vendas]");
  EXPECT_EQ(action_marker({"1", "end_call", R"({"reason":"caller_goodbye"})"}), "[HANGUP]");
  EXPECT_EQ(action_marker({"1", "end_call", R"({"reason":"silence"})"}), "[HANGUP:silence]");
  EXPECT_EQ(action_marker({"1", "other", "{}"}), "");
}

}  // namespace
}  // namespace ivr::providers
