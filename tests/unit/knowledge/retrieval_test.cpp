// Retrieval quality of the offline embedder on a small labelled set, in the style of the shared KB
// fixtures: questions callers ask (Portuguese and English, with and without accents) and the passage
// that answers each, among passages of two tenants' documents. The bar: every expected passage ranks in
// the top 4 by cosine (what the search will hand to the model), and most rank first.

#include "ivr/knowledge/hash_embedder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ivr/knowledge/chunker.hpp"
#include "ivr/knowledge/normalize_text.hpp"

namespace ivr::knowledge {
namespace {

const std::vector<std::string> kPassages = {
    // 0
    "Horário de funcionamento. A Clínica Vida Plena atende de segunda a sexta-feira, das 7h às 19h, e aos "
    "sábados das 8h às 12h. Não abrimos aos domingos nem feriados nacionais.",
    // 1
    "Endereço e estacionamento. Estamos na Rua das Acácias, 1450, bairro Jardim Botânico, Curitiba. O "
    "estacionamento conveniado fica ao lado e é gratuito por até duas horas com o ticket carimbado na "
    "recepção.",
    // 2
    "Convênios aceitos. Aceitamos os convênios Unimed, Bradesco Saúde, SulAmérica e Amil. Pacientes "
    "particulares pagam no cartão, PIX ou dinheiro. O convênio Hapvida não é aceito.",
    // 3
    "Preparo para exames. Exames de sangue exigem jejum de 8 horas; o exame de glicemia exige jejum de 12 "
    "horas. Beba água normalmente. Traga o pedido médico e um documento com foto.",
    // 4
    "Tabela de preços particulares.\nEspecialidade | Valor\nClínico geral | R$ 180\nCardiologia | R$ 320\n"
    "Dermatologia | R$ 290\nPediatria | R$ 210",
    // 5
    "Ramais e setores. Recepção: ramal 1000. Agendamento: ramal 1001. Financeiro: ramal 1002. Resultados de "
    "exames: ramal 1003. Ouvidoria: ramal 1009.",
    // 6
    "Vacinação. A sala de vacinação funciona de terça a quinta, das 9h às 16h. Vacinas de gripe estão "
    "disponíveis de abril a julho, sem necessidade de agendamento.",
    // 7
    "Cancelamento e remarcação. Cancelamentos devem ser feitos com pelo menos 24 horas de antecedência. "
    "Faltas sem aviso geram uma taxa de 50 reais no próximo atendimento particular.",
    // 8
    "Planos de internet. A TecnoSul oferece os planos Fibra 300 por 99 reais, Fibra 600 por 129 reais e "
    "Fibra 1 Giga por 189 reais. Todos incluem instalação gratuita e roteador Wi-Fi 6.",
    // 9
    "Suporte técnico. O suporte técnico funciona 24 horas por dia, inclusive de madrugada. Antes de abrir "
    "um chamado, desligue o roteador da tomada por 30 segundos e ligue novamente.",
    // 10
    "Opening hours for international patients: our English-speaking reception is open Monday to Friday from "
    "9am to 5pm. Interpreters can be booked for appointments in English or Spanish.",
    // 11
    "Refunds and payment. Payments by credit card can be split into three instalments. Refunds for cancelled "
    "procedures are paid back to the same card within ten business days.",
};

struct Question {
  std::string text;
  int expected;        // index in kPassages
  std::string answer;  // words of the expected passage that answer it
};

const std::vector<Question> kQuestions = {
    {"Vocês abrem no sábado?", 0, "sábados das 8h às 12h"},
    {"Qual o horário de funcionamento da clínica?", 0, "das 7h às 19h"},
    {"Quais convênios vocês aceitam?", 2, "Unimed, Bradesco Saúde"},
    {"Vocês atendem pela Unimed?", 2, "Unimed"},
    {"Preciso de jejum para o exame de glicemia?", 3, "jejum de 12 horas"},
    {"Quanto custa uma consulta de cardiologia?", 4, "Cardiologia | R$ 320"},
    {"Qual o ramal do financeiro?", 5, "Financeiro: ramal 1002"},
    {"Quando posso tomar a vacina da gripe?", 6, "abril a julho"},
    {"Qual é o endereço da clínica?", 1, "Rua das Acácias, 1450"},
    {"qual e o endereco da clinica", 1, "Rua das Acácias, 1450"},  // typed without accents
    {"Tem estacionamento?", 1, "estacionamento conveniado"},
    {"Como faço para cancelar uma consulta?", 7, "24 horas de antecedência"},
    {"Quanto custa o plano de 600 mega?", 8, "Fibra 600 por 129 reais"},
    {"O suporte funciona de madrugada?", 9, "inclusive de madrugada"},
    {"What time does the English-speaking reception open?", 10, "9am to 5pm"},
    {"How long does a refund take?", 11, "within ten business days"},
};

TEST(Retrieval, ExpectedPassageInTopFour) {
  const HashEmbedder embedder;
  std::vector<std::vector<float>> passages;
  for (const std::string& p : kPassages) passages.push_back(embedder.embed_one(p));
  int first = 0;
  for (const Question& q : kQuestions) {
    const auto query = embedder.embed_one(q.text);
    std::vector<std::pair<float, int>> ranked;
    for (std::size_t i = 0; i < passages.size(); ++i)
      ranked.emplace_back(dot(query, passages[i]), static_cast<int>(i));
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    const auto it =
        std::find_if(ranked.begin(), ranked.end(), [&](const auto& r) { return r.second == q.expected; });
    const auto rank = it - ranked.begin() + 1;
    EXPECT_LE(rank, 4) << q.text << " → passage " << q.expected << " ranked " << rank << " (top: passage "
                       << ranked[0].second << ")";
    first += rank == 1;
  }
  EXPECT_GE(first * 10, static_cast<int>(kQuestions.size()) * 8)
      << first << " of " << kQuestions.size() << " first";
}

TEST(Retrieval, ThroughNormaliseAndChunk) {
  // The passages as one document's pages, normalised and chunked smaller than a passage (with
  // overlap): a chunk holding the answer ranks in the top 4.
  std::vector<Section> sections;
  for (std::size_t i = 0; i < kPassages.size(); ++i)
    sections.push_back({kPassages[i], static_cast<int>(i + 1), {}});
  const auto chunks =
      chunk_sections(normalize_sections(sections), {.target_tokens = 40, .overlap_tokens = 15});
  ASSERT_GT(chunks.size(), kPassages.size());
  const HashEmbedder embedder;
  std::vector<std::vector<float>> vectors;
  for (const Chunk& c : chunks) vectors.push_back(embedder.embed_one(c.text));
  for (const Question& q : kQuestions) {
    const auto query = embedder.embed_one(q.text);
    std::vector<std::pair<float, std::size_t>> ranked;
    for (std::size_t i = 0; i < vectors.size(); ++i) ranked.emplace_back(dot(query, vectors[i]), i);
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    bool found = false;
    for (std::size_t r = 0; r < 4; ++r)
      found = found || chunks[ranked[r].second].text.find(q.answer) != std::string::npos;
    EXPECT_TRUE(found) << q.text << " (best chunk: " << chunks[ranked[0].second].text << ")";
  }
}

}  // namespace
}  // namespace ivr::knowledge
