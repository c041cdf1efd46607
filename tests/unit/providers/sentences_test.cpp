#include "ivr/providers/sentences.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace ivr::providers {
namespace {

using Pieces = std::vector<std::string>;

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// The invariants every split must keep, whatever the input.
void expect_well_formed(const Pieces& pieces, std::size_t max_chars) {
  for (const auto& piece : pieces) {
    EXPECT_FALSE(piece.empty());
    EXPECT_LE(utf8_length(piece), max_chars) << piece;
    EXPECT_TRUE(valid_utf8(piece)) << piece;
    EXPECT_NE(piece.front(), ' ') << piece;
    EXPECT_NE(piece.back(), ' ') << piece;
  }
}

// Removing all whitespace from input and output must give the same characters: nothing lost or added.
std::string without_spaces(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') continue;
    if (s.substr(i, 2) == "\xC2\xA0") {
      ++i;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string joined(const Pieces& pieces) {
  std::string out;
  for (const auto& p : pieces) out += p;
  return out;
}

TEST(SplitSentences, Portuguese) {
  EXPECT_EQ(split_sentences("Olá, bem-vindo à clínica. Como posso ajudar? Temos horários amanhã!"),
            (Pieces{"Olá, bem-vindo à clínica.", "Como posso ajudar?", "Temos horários amanhã!"}));
}

TEST(SplitSentences, EnglishAndSpanish) {
  EXPECT_EQ(split_sentences("Hello there. How can I help you today?"),
            (Pieces{"Hello there.", "How can I help you today?"}));
  EXPECT_EQ(split_sentences("¡Hola! ¿En qué puedo ayudarle? Estamos abiertos."),
            (Pieces{"¡Hola!", "¿En qué puedo ayudarle?", "Estamos abiertos."}));
}

TEST(SplitSentences, KeepsAbbreviationsAndInitials) {
  EXPECT_EQ(split_sentences("O Dr. Silva atende hoje. A Sra. Costa amanhã."),
            (Pieces{"O Dr. Silva atende hoje.", "A Sra. Costa amanhã."}));
  EXPECT_EQ(split_sentences("Trazer RG, CPF etc. Depois passe na recepção."),
            (Pieces{"Trazer RG, CPF etc. Depois passe na recepção."}));
  EXPECT_EQ(split_sentences("Fale com Sr. Pedro ou Dra. Ana. Obrigado."),
            (Pieces{"Fale com Sr. Pedro ou Dra. Ana.", "Obrigado."}));
  EXPECT_EQ(split_sentences("Ask for J. R. Smith, e.g. at the desk. Thanks."),
            (Pieces{"Ask for J. R. Smith, e.g. at the desk.", "Thanks."}));
  EXPECT_EQ(split_sentences("Mr. Brown is in. Mrs. Brown is out."),
            (Pieces{"Mr. Brown is in.", "Mrs. Brown is out."}));
}

TEST(SplitSentences, KeepsDecimalsAndCurrency) {
  EXPECT_EQ(split_sentences("A consulta custa R$ 1.234,56. O retorno é grátis."),
            (Pieces{"A consulta custa R$ 1.234,56.", "O retorno é grátis."}));
  EXPECT_EQ(split_sentences("The dose is 3.5 ml. Take it twice."),
            (Pieces{"The dose is 3.5 ml.", "Take it twice."}));
  EXPECT_EQ(split_sentences("Temos 3. Depois vemos."), (Pieces{"Temos 3.", "Depois vemos."}));
  EXPECT_EQ(split_sentences("Custa R$ 1.234. Pode pagar no cartão."),
            (Pieces{"Custa R$ 1.234.", "Pode pagar no cartão."}));
  EXPECT_EQ(split_sentences("Visite www.clinica.com.br. Até logo."),
            (Pieces{"Visite www.clinica.com.br.", "Até logo."}));
}

TEST(SplitSentences, EllipsisQuotesAndRuns) {
  EXPECT_EQ(split_sentences("Bem... vamos ver. Certo!"), (Pieces{"Bem... vamos ver.", "Certo!"}));
  EXPECT_EQ(split_sentences("Hmm… Deixe-me ver. Sim?! Claro."),
            (Pieces{"Hmm…", "Deixe-me ver.", "Sim?!", "Claro."}));
  EXPECT_EQ(split_sentences("Ele disse \"até amanhã.\" Depois saiu."),
            (Pieces{"Ele disse \"até amanhã.\"", "Depois saiu."}));
  EXPECT_EQ(split_sentences("Ela disse «tchau.» Fim."), (Pieces{"Ela disse «tchau.»", "Fim."}));
  EXPECT_EQ(split_sentences("(Fechado aos domingos.) Abrimos às 8h."),
            (Pieces{"(Fechado aos domingos.)", "Abrimos às 8h."}));
}

TEST(SplitSentences, LineBreaksAndListNumbers) {
  EXPECT_EQ(split_sentences("Opções:\n1. Agendar consulta\n2. Falar com a recepção\n\n  "),
            (Pieces{"Opções:", "1. Agendar consulta", "2. Falar com a recepção"}));
}

TEST(SplitSentences, TrimsAndNeverReturnsEmptyPieces) {
  EXPECT_EQ(split_sentences(""), Pieces{});
  EXPECT_EQ(split_sentences("   \n\t  "), Pieces{});
  EXPECT_EQ(split_sentences(". . !"), (Pieces{".", ".", "!"}));
  EXPECT_EQ(split_sentences("\xC2\xA0 Olá.  \xC2\xA0"), (Pieces{"Olá."}));
  EXPECT_EQ(split_sentences("Sem ponto final"), (Pieces{"Sem ponto final"}));
}

TEST(SplitSentences, LongSentenceSplitsAtSemicolonsThenWraps) {
  const std::string text =
      "Atendemos de segunda a sexta das oito às dezoito horas; aos sábados das oito ao meio-dia; "
      "aos domingos e feriados não há atendimento.";
  const auto pieces = split_sentences(text, 60);
  EXPECT_EQ(pieces,
            (Pieces{"Atendemos de segunda a sexta das oito às dezoito horas;",
                    "aos sábados das oito ao meio-dia;", "aos domingos e feriados não há atendimento."}));
  expect_well_formed(pieces, 60);

  // Clauses are packed while they fit.
  EXPECT_EQ(split_sentences("um; dois; três; quatro; cinco.", 16),
            (Pieces{"um; dois; três;", "quatro; cinco."}));

  // No punctuation at all: hard wrap at spaces.
  const std::string words = "palavra palavra palavra palavra palavra palavra palavra palavra palavra";
  const auto wrapped = split_sentences(words, 20);
  EXPECT_EQ(wrapped,
            (Pieces{"palavra palavra", "palavra palavra", "palavra palavra", "palavra palavra", "palavra"}));
  expect_well_formed(wrapped, 20);
}

TEST(SplitSentences, CommasBeforeHardWrap) {
  const auto pieces =
      split_sentences("Trazer documento com foto, cartão do convênio, pedido médico e exames.", 30);
  EXPECT_EQ(pieces, (Pieces{"Trazer documento com foto,", "cartão do convênio,", "pedido médico e exames."}));
}

TEST(SplitSentences, CountsCodePointsAndNeverCutsInsideOne) {
  // 10 "ã" = 10 characters, 20 bytes: fits max 10.
  std::string accents;
  for (int i = 0; i < 10; ++i) accents += "ã";
  EXPECT_EQ(split_sentences(accents, 10), (Pieces{accents}));
  // One giant word of accented characters and emoji, cut at character boundaries.
  std::string giant;
  for (int i = 0; i < 25; ++i) giant += i % 5 == 0 ? "😀" : "é";
  const auto pieces = split_sentences(giant, 7);
  expect_well_formed(pieces, 7);
  EXPECT_EQ(joined(pieces), giant);
  EXPECT_EQ(utf8_length(pieces.front()), 7u);
  // Boundary right before a multi-byte character.
  const auto around = split_sentences("Está ótimo. Ótimo!", 400);
  EXPECT_EQ(around, (Pieces{"Está ótimo.", "Ótimo!"}));
  const auto wrap_accent = split_sentences("ééé ããã ôôô", 5);
  EXPECT_EQ(wrap_accent, (Pieces{"ééé", "ããã", "ôôô"}));
}

TEST(SplitSentences, InvalidBytesPassThroughWithoutCrashing) {
  const std::string bad = "ol\xE1 mundo. \xFF\xFE fim.";
  const auto pieces = split_sentences(bad, 400);
  EXPECT_EQ(pieces, (Pieces{"ol\xE1 mundo.", "\xFF\xFE fim."}));
  const auto tiny = split_sentences(bad, 1);
  for (const auto& p : tiny) EXPECT_LE(utf8_length(p), 1u);
  EXPECT_EQ(without_spaces(joined(tiny)), without_spaces(bad));
}

TEST(SplitSentences, InvariantsHoldForEveryMaxOnMixedText) {
  const std::string text =
      "Olá! Sou a secretária virtual da Clínica São José; posso agendar consultas, informar preços "
      "(a consulta custa R$ 250,00 e o retorno R$ 1.234,56) e transferir para o Dr. Antônio ou a Sra. "
      "Conceição. ¿Habla español? Sí… claro. Please say “yes” or “no”. Obrigado!\nAté logo 😀.";
  for (std::size_t max = 0; max <= 120; ++max) {
    const auto pieces = split_sentences(text, max);
    expect_well_formed(pieces, std::max<std::size_t>(max, 1));
    EXPECT_EQ(without_spaces(joined(pieces)), without_spaces(text)) << "max " << max;
  }
}

TEST(Utf8Length, CountsCodePoints) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("ção"), 3u);
  EXPECT_EQ(utf8_length("…😀"), 2u);
  EXPECT_EQ(utf8_length("\xFF\xC3"), 2u);
}

}  // namespace
}  // namespace ivr::providers
