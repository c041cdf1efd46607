#include "ivr/knowledge/hash_embedder.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include <boost/asio/io_context.hpp>

#include "support/test_env.hpp"

namespace ivr::knowledge {
namespace {

float cosine(const HashEmbedder& e, std::string_view a, std::string_view b) {
  return dot(e.embed_one(a), e.embed_one(b));
}

float norm(const std::vector<float>& v) {
  return std::sqrt(dot(v, v));
}

TEST(HashEmbedder, ModelAndDimension) {
  const HashEmbedder standard;
  EXPECT_EQ(standard.dimension(), 384);
  EXPECT_EQ(standard.model(), "hash-v1-384");
  EXPECT_EQ(standard.embed_one("olá").size(), 384u);
  for (int dim : {1, 8, 128, 1536}) {
    const HashEmbedder e({.dimension = dim});
    EXPECT_EQ(e.dimension(), dim);
    EXPECT_EQ(e.model(), "hash-v1-" + std::to_string(dim));
    EXPECT_EQ(e.embed_one("vacina da gripe").size(), static_cast<std::size_t>(dim));
  }
}

TEST(HashEmbedder, UnitNormOrZero) {
  const HashEmbedder e;
  std::mt19937 rng(3);
  const std::vector<std::string> vocabulary = {"clínica", "horário", "8h", "ÀS", "1002", "informação", "the",
                                               "de",      "!",       "?",  "—",  "😀",    "São Paulo",  "R$"};
  for (int i = 0; i < 200; ++i) {
    std::string text;
    for (int w = 0; w < 1 + static_cast<int>(rng() % 50); ++w)
      text += vocabulary[rng() % vocabulary.size()] + " ";
    const auto v = e.embed_one(text);
    EXPECT_NEAR(norm(v), embedding_words(text).empty() ? 0.0f : 1.0f, 1e-5f) << text;
  }
  for (const char* nothing : {"", "   ", "!!! ... ???", "— – ·"}) {
    const auto v = e.embed_one(nothing);
    EXPECT_EQ(norm(v), 0.0f) << nothing;
  }
  // Only function words: still a vector.
  EXPECT_NEAR(norm(e.embed_one("o que é isso?")), 1.0f, 1e-5f);
}

TEST(HashEmbedder, Deterministic) {
  const HashEmbedder a;
  const HashEmbedder b;
  const std::string text = "A Clínica Vida Plena atende de segunda a sexta, das 7h às 19h.";
  EXPECT_EQ(a.embed_one(text), b.embed_one(text));
  EXPECT_EQ(a.embed_one(text), a.embed_one(text));
}

TEST(HashEmbedder, StableAcrossBuilds) {
  // Golden values: stored vectors must stay valid after a rebuild, on any machine. If this fails, the
  // vector space changed: bump the model name ("hash-v2-…") so stored chunks are re-embedded.
  const HashEmbedder e({.dimension = 16});
  const auto v = e.embed_one("vacina da gripe");
  const std::vector<float> golden = {
      0.000000f, -0.053797f, 0.064158f,  -0.053797f, 0.053797f, 0.107594f,  0.107594f, 0.053797f,
      0.004727f, -0.473813f, -0.484174f, 0.621025f,  0.097233f, -0.322783f, 0.000000f, 0.053797f,
  };
  ASSERT_EQ(v.size(), golden.size());
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], golden[i], 1e-5f) << i;
}

TEST(HashEmbedder, AccentsCaseAndPunctuationFold) {
  const HashEmbedder e;
  EXPECT_GT(cosine(e, "informação", "informacao"), 0.9f);
  EXPECT_GT(cosine(e, "INFORMAÇÃO!", "informacao"), 0.9f);
  EXPECT_GT(cosine(e, "Ñandú, açaí", "nandu acai"), 0.9f);
  EXPECT_GT(cosine(e, "Łódź", "lodz"), 0.9f);
  EXPECT_GT(cosine(e, "cafe\u0301", "café"), 0.9f);  // decomposed accent
  EXPECT_GT(cosine(e, "that’s", "thats"), 0.9f);
}

TEST(HashEmbedder, Words) {
  EXPECT_EQ(embedding_words("Informação, já!"), (std::vector<std::string>{"informacao", "ja"}));
  EXPECT_EQ(embedding_words("e-mail: ATENDIMENTO@clinica.com.br"),
            (std::vector<std::string>{"e", "mail", "atendimento", "clinica", "com", "br"}));
  EXPECT_EQ(embedding_words("R$ 129,90 — 24h"), (std::vector<std::string>{"r", "129", "90", "24h"}));
  EXPECT_EQ(embedding_words("it's O'Brien"), (std::vector<std::string>{"its", "obrien"}));
  EXPECT_EQ(embedding_words("ΑΒΓ Жук"), (std::vector<std::string>{"αβγ", "жук"}));
}

TEST(HashEmbedder, RelatedTextsScoreHigher) {
  const HashEmbedder e;
  const std::string hours = "A clínica atende de segunda a sexta, das 8h às 18h, e aos sábados pela manhã.";
  const std::string plans = "O plano Fibra 600 custa 129 reais por mês com roteador incluso.";
  const std::string vaccines = "Vacinas de gripe estão disponíveis de abril a julho.";
  EXPECT_GT(cosine(e, "Qual o horário de atendimento aos sábados?", hours),
            cosine(e, "Qual o horário de atendimento aos sábados?", plans));
  EXPECT_GT(cosine(e, "quanto custa o plano de 600 mega", plans),
            cosine(e, "quanto custa o plano de 600 mega", hours));
  EXPECT_GT(cosine(e, "vacina contra a gripe", vaccines), cosine(e, "vacina contra a gripe", plans));
  // Plurals fold; other inflections meet through character n-grams.
  EXPECT_GT(cosine(e, "vacinas", "vacina"), 0.99f);
  EXPECT_GT(cosine(e, "Sábados", "sábado"), 0.99f);
  EXPECT_GT(cosine(e, "vacinação", "vacina"), 0.3f);
  EXPECT_LT(cosine(e, "vacinação", "roteador"), 0.1f);
  // Numbers are whole words: extension 1002 is not extension 1003.
  EXPECT_GT(cosine(e, "ramal 1002", "financeiro ramal 1002"),
            cosine(e, "ramal 1002", "financeiro ramal 1003"));
}

TEST(HashEmbedder, FunctionWordsDoNotDecide) {
  const HashEmbedder e;
  // Sharing "de", "a", "o", "para" must not beat sharing the content word.
  EXPECT_GT(cosine(e, "exame de sangue", "sangue"), cosine(e, "exame de sangue", "de a o para de"));
}

TEST(HashEmbedder, AwaitableBatchMatchesEmbedOne) {
  HashEmbedder e({.dimension = 64});
  boost::asio::io_context io;
  const std::vector<std::string> texts = {"primeiro texto", "", "terceiro: vacinação"};
  const auto result = ivr::test::run(io, e.embed(texts));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->size(), 3u);
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ((*result)[i], e.embed_one(texts[i]));
  const auto empty = ivr::test::run(io, e.embed({}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace ivr::knowledge
