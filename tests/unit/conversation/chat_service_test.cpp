#include "ivr/conversation/chat_service.hpp"

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ivr::conversation {
namespace {

using nlohmann::json;

Secretary with_targets() {
  Secretary s = default_secretary("7c9e6679-7425-40de-944b-e07fc1f90ae7", "pbx.example.com");
  s.transfer_targets = {
      {"Vendas", "1001"}, {"Financeiro", "1002"}, {"Recepção", "1000"}, {"Suporte Técnico", "2001"}};
  return s;
}

std::string ext_of(const std::optional<std::pair<std::string, std::string>>& found) {
  return found ? found->second : std::string("<none>");
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- find_transfer_target ----

TEST(FindTransferTarget, ByExactName) {
  const Secretary s = with_targets();
  auto found = find_transfer_target(s, "Vendas");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first, "Vendas");
  EXPECT_EQ(found->second, "1001");
}

TEST(FindTransferTarget, CaseInsensitive) {
  const Secretary s = with_targets();
  EXPECT_EQ(ext_of(find_transfer_target(s, "financeiro")), "1002");
  EXPECT_EQ(ext_of(find_transfer_target(s, "FINANCEIRO")), "1002");
  EXPECT_EQ(ext_of(find_transfer_target(s, "fInAnCeIrO")), "1002");
}

TEST(FindTransferTarget, AccentInsensitive) {
  const Secretary s = with_targets();
  EXPECT_EQ(ext_of(find_transfer_target(s, "recepcao")), "1000");
  EXPECT_EQ(ext_of(find_transfer_target(s, "Recepção")), "1000");
  EXPECT_EQ(ext_of(find_transfer_target(s, "RECEPÇÃO")), "1000");
  EXPECT_EQ(ext_of(find_transfer_target(s, "suporte tecnico")), "2001");
  // And the other way round: an accent the model added where the target has none.
  EXPECT_EQ(ext_of(find_transfer_target(s, "Fínanceíro")), "1002");
}

TEST(FindTransferTarget, IgnoresSurroundingBlanks) {
  const Secretary s = with_targets();
  EXPECT_EQ(ext_of(find_transfer_target(s, "  vendas\t")), "1001");
}

TEST(FindTransferTarget, ByExtension) {
  const Secretary s = with_targets();
  auto found = find_transfer_target(s, "2001");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first, "Suporte Técnico");
  EXPECT_EQ(found->second, "2001");
}

TEST(FindTransferTarget, RejectsWhatIsNotAllowed) {
  const Secretary s = with_targets();
  EXPECT_FALSE(find_transfer_target(s, "diretoria"));
  EXPECT_FALSE(find_transfer_target(s, "9999"));
  EXPECT_FALSE(find_transfer_target(s, "vend"));         // no prefix matching
  EXPECT_FALSE(find_transfer_target(s, "vendas 1001"));  // no fuzzy matching
  EXPECT_FALSE(find_transfer_target(s, ""));
  EXPECT_FALSE(find_transfer_target(s, "   "));
  EXPECT_FALSE(find_transfer_target(default_secretary("d", "x"), "vendas"));  // no targets at all
}

// ---- build_system_prompt ----

TEST(SystemPrompt, StartsWithTheSecretarysPrompt) {
  Secretary s = with_targets();
  s.system_prompt = "Você é a Ana, da Clínica Sorriso.";
  const std::string prompt = build_system_prompt(s, {});
  EXPECT_EQ(prompt.rfind("Você é a Ana, da Clínica Sorriso.", 0), 0u) << prompt;
}

TEST(SystemPrompt, DefaultWhenTheSecretaryHasNone) {
  Secretary s = with_targets();
  s.system_prompt.clear();
  EXPECT_EQ(build_system_prompt(s, {}).rfind("You are a helpful phone secretary.", 0), 0u);
}

TEST(SystemPrompt, NamesTheLanguage) {
  Secretary s = with_targets();
  s.language = "pt-BR";
  EXPECT_TRUE(contains(build_system_prompt(s, {}), "Responda sempre em português do Brasil."));
  s.language = "en-US";
  const std::string en = build_system_prompt(s, {});
  EXPECT_TRUE(contains(en, "Always answer in English."));
  EXPECT_FALSE(contains(en, "português"));
  s.language = "es";
  EXPECT_TRUE(contains(build_system_prompt(s, {}), "Responde siempre en español."));
  s.language = "fr";  // unknown languages fall back to the product's home language
  EXPECT_TRUE(contains(build_system_prompt(s, {}), "português do Brasil"));
}

TEST(SystemPrompt, ListsOnlyTheAllowedTargets) {
  const std::string prompt = build_system_prompt(with_targets(), {});
  EXPECT_TRUE(
      contains(prompt, "only to one of these targets: Vendas, Financeiro, Recepção, Suporte Técnico."))
      << prompt;
  EXPECT_TRUE(contains(prompt, "transfer_call"));
  EXPECT_TRUE(contains(prompt, "end_call"));
  EXPECT_TRUE(contains(prompt, "create_ticket"));
  EXPECT_TRUE(contains(prompt, "[TRANSFER:<target>]"));
  EXPECT_TRUE(contains(prompt, "[HANGUP]"));
  // Extensions are the daemon's business, not the model's.
  EXPECT_FALSE(contains(prompt, "1001"));
}

TEST(SystemPrompt, NoTransferToolWithoutTargets) {
  const std::string prompt = build_system_prompt(default_secretary("d", "x"), {});
  EXPECT_FALSE(contains(prompt, "transfer_call")) << prompt;
  EXPECT_TRUE(contains(prompt, "end_call"));
}

TEST(SystemPrompt, IncludesKnowledgeSnippetsAndFaq) {
  Secretary s = with_targets();
  s.faq = {{"Qual o horário?", "Das 8h às 18h."}};
  const std::vector<providers::KnowledgeSnippet> knowledge = {
      {"Tabela de preços", "Consulta: R$ 200,00.", 0.9}, {"Vacinas", "Aplicamos a vacina da gripe.", 0.7}};
  const std::string prompt = build_system_prompt(s, knowledge);
  EXPECT_TRUE(contains(prompt, "- (Tabela de preços) Consulta: R$ 200,00.\n")) << prompt;
  EXPECT_TRUE(contains(prompt, "- (Vacinas) Aplicamos a vacina da gripe.\n"));
  EXPECT_LT(prompt.find("Tabela de preços"), prompt.find("Vacinas"));  // ranked order kept
  EXPECT_TRUE(contains(prompt, "Q: Qual o horário?\nA: Das 8h às 18h.\n"));
}

TEST(SystemPrompt, NoKnowledgeSectionWhenNothingWasFound) {
  Secretary s = with_targets();
  const std::string prompt = build_system_prompt(s, {});
  EXPECT_FALSE(contains(prompt, "passages")) << prompt;
  EXPECT_FALSE(contains(prompt, "Frequently asked"));
}

// ---- conversation_tools ----

std::vector<std::string> tool_names(const std::vector<providers::ToolSpec>& tools) {
  std::vector<std::string> names;
  for (const auto& t : tools) names.push_back(t.name);
  return names;
}

TEST(ConversationTools, WithTargets) {
  const auto tools = conversation_tools(with_targets());
  ASSERT_EQ(tool_names(tools), (std::vector<std::string>{"transfer_call", "end_call", "create_ticket"}));
  for (const auto& t : tools) {
    EXPECT_FALSE(t.description.empty()) << t.name;
    const json schema = json::parse(t.parameters_schema_json, nullptr, false);
    ASSERT_TRUE(schema.is_object()) << t.name << ": " << t.parameters_schema_json;
    EXPECT_EQ(schema["type"], "object") << t.name;
  }
  const json transfer = json::parse(tools[0].parameters_schema_json);
  // The model can only name an allowed target.
  EXPECT_EQ(transfer["properties"]["target"]["enum"],
            json::array({"Vendas", "Financeiro", "Recepção", "Suporte Técnico"}));
  EXPECT_EQ(transfer["required"], json::array({"target"}));
  const json ticket = json::parse(tools[2].parameters_schema_json);
  EXPECT_EQ(ticket["required"], json::array({"summary"}));
  EXPECT_EQ(ticket["properties"]["summary"]["type"], "string");
  const json end = json::parse(tools[1].parameters_schema_json);
  EXPECT_EQ(end["properties"]["reason"]["type"], "string");
}

TEST(ConversationTools, WithoutTargetsNoTransfer) {
  const auto tools = conversation_tools(default_secretary("d", "x"));
  EXPECT_EQ(tool_names(tools), (std::vector<std::string>{"end_call", "create_ticket"}));
}

}  // namespace
}  // namespace ivr::conversation
