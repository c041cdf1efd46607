#include "ivr/knowledge/normalize_text.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ivr::knowledge {
namespace {

bool valid_utf8_without_controls(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n') || c == 0x7F) return false;
      ++i;
      continue;
    }
    std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    if (c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) return false;  // C1 controls
    i += len;
  }
  return true;
}

TEST(NormalizeText, CollapsesWhitespaceKeepingParagraphs) {
  EXPECT_EQ(normalize_text("  um   dois\t\ttrês  "), "um dois três");
  EXPECT_EQ(normalize_text("linha 1   \n   linha 2"), "linha 1\nlinha 2");
  EXPECT_EQ(normalize_text("par 1\n\n\n\n   \n\t\npar 2"), "par 1\n\npar 2");
  EXPECT_EQ(normalize_text("\n\n  início e fim  \n\n"), "início e fim");
  EXPECT_EQ(normalize_text("windows\r\nline\rends\r\n\r\nparagraph"), "windows\nline\nends\n\nparagraph");
  EXPECT_EQ(normalize_text("page one\fpage two"), "page one\n\npage two");
  EXPECT_EQ(normalize_text("word\vbreak"), "word\nbreak");
  EXPECT_EQ(normalize_text(""), "");
  EXPECT_EQ(normalize_text(" \n\t\f "), "");
}

TEST(NormalizeText, UnicodeSpacesAndInvisibleCharacters) {
  EXPECT_EQ(normalize_text("R$\u00A0180 e\u2009mais\u3000texto"), "R$ 180 e mais texto");
  EXPECT_EQ(normalize_text("zero\u200Bwidth\u200D and \uFEFFbom"), "zerowidth and bom");
  EXPECT_EQ(normalize_text("line\u2028sep\u2029para"), "line\nsep\n\npara");
}

TEST(NormalizeText, ControlCharactersRemoved) {
  EXPECT_EQ(normalize_text(std::string("nu\0l", 4)), "nul");
  EXPECT_EQ(normalize_text("bell\x07 esc\x1B del\x7F"), "bell esc del");
  EXPECT_EQ(normalize_text("c1\u0085\u009Fcontrols"), "c1controls");
}

TEST(NormalizeText, InvalidUtf8Replaced) {
  EXPECT_EQ(normalize_text("bad \xFF byte"), "bad \uFFFD byte");
  EXPECT_EQ(normalize_text("truncated \xC3"), "truncated \uFFFD");
  EXPECT_EQ(normalize_text("overlong \xC0\xAF"), "overlong \uFFFD\uFFFD");
}

TEST(NormalizeText, JoinsWordsHyphenatedAtLineEnds) {
  EXPECT_EQ(normalize_text("infor-\nmação"), "informação");
  EXPECT_EQ(normalize_text("a infor-  \n   mação útil"), "a informação útil");
  EXPECT_EQ(normalize_text("ante-\r\ncipada"), "antecipada");
  EXPECT_EQ(normalize_text("vaci\u00AD\nnação"), "vacinação");  // soft hyphen at the line end
  EXPECT_EQ(normalize_text("ca\u2010\nderno"), "caderno");      // U+2010 HYPHEN
  EXPECT_EQ(normalize_text("Ação-\nção"), "Açãoção");
}

TEST(NormalizeText, KeepsHyphensThatAreNotLineWraps) {
  EXPECT_EQ(normalize_text("bem-vindo"), "bem-vindo");
  EXPECT_EQ(normalize_text("Rio-\nBrasília"), "Rio-\nBrasília");  // capital: a new line, a name
  EXPECT_EQ(normalize_text("10-\n20"), "10-\n20");
  EXPECT_EQ(normalize_text("itens:\n- um\n- dois"), "itens:\n- um\n- dois");
  EXPECT_EQ(normalize_text("fim de parágrafo-\n\ncomeço"), "fim de parágrafo-\n\ncomeço");
  EXPECT_EQ(normalize_text("só\u00ADlaba"), "sólaba");  // a soft hyphen elsewhere just disappears
}

TEST(NormalizeText, IdempotentValidAndClean) {
  // Property: over random mixes of text, whitespace, controls, hyphens and broken bytes, the output is
  // valid UTF-8 without controls (but \n), never has "  ", " \n", "\n " or "\n\n\n", and normalising
  // again changes nothing.
  const std::vector<std::string> pieces = {
      "a",    "ção",  "Word", " ",    "  ",     "\t",     "\n",     "\n\n\n",
      "\r\n", "\f",   "-",    "-\n",  "\u00AD", "\u00A0", "\u200B", std::string(1, '\0'),
      "\x01", "\x7F", "\xFF", "\xC3", "\u2029", "1",      ".",      "é"};
  std::mt19937 rng(42);
  for (int round = 0; round < 3000; ++round) {
    std::string in;
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) in += pieces[rng() % pieces.size()];
    const std::string out = normalize_text(in);
    ASSERT_TRUE(valid_utf8_without_controls(out)) << in;
    EXPECT_EQ(out.find("  "), std::string::npos) << in;
    EXPECT_EQ(out.find(" \n"), std::string::npos) << in;
    EXPECT_EQ(out.find("\n "), std::string::npos) << in;
    EXPECT_EQ(out.find("\n\n\n"), std::string::npos) << in;
    if (!out.empty()) {
      EXPECT_NE(out.front(), ' ');
      EXPECT_NE(out.back(), '\n');
    }
    EXPECT_EQ(normalize_text(out), out) << in;
  }
}

std::vector<Section> pages(const std::vector<std::string>& texts) {
  std::vector<Section> out;
  for (std::size_t i = 0; i < texts.size(); ++i)
    out.push_back(Section{texts[i], static_cast<int>(i + 1), {}});
  return out;
}

TEST(RepeatedPageLines, HeadersAndPageNumbersRemoved) {
  auto sections = pages({
      "Manual da Clínica\nHorários de atendimento.\nPágina 1 de 3",
      "Manual da Clínica\n\nConvênios aceitos.\nPágina 2 de 3\n",
      "  Manual   da Clínica \nPreparo para exames.\nPágina 3 de 3",
  });
  remove_repeated_page_lines(sections);
  EXPECT_EQ(normalize_text(sections[0].text), "Horários de atendimento.");
  EXPECT_EQ(normalize_text(sections[1].text), "Convênios aceitos.");
  EXPECT_EQ(normalize_text(sections[2].text), "Preparo para exames.");
}

TEST(RepeatedPageLines, SixtyPercentOfThreeOrMorePages) {
  // On 3 of 5 pages (60%): removed. On 2 of 5 (40%): kept.
  auto sections = pages({"Cabeçalho A\nconsultas", "Cabeçalho A\nexames", "Cabeçalho A\nvacinas",
                         "Outro\nconvênios", "Outro\npreços"});
  remove_repeated_page_lines(sections);
  EXPECT_EQ(sections[0].text, "consultas");
  EXPECT_EQ(sections[2].text, "vacinas");
  EXPECT_EQ(sections[3].text, "Outro\nconvênios");
  // Two pages are never "most pages".
  auto two = pages({"Cabeçalho\num", "Cabeçalho\ndois"});
  remove_repeated_page_lines(two);
  EXPECT_EQ(two[0].text, "Cabeçalho\num");
}

TEST(RepeatedPageLines, BodyLinesAreNotTouched) {
  // The same sentence in the middle of every page (beyond the 3 lines at each edge) stays, and so does
  // a repeated line that sits at a different place on each page.
  std::vector<std::string> texts;
  for (int p = 0; p < 4; ++p) {
    std::string t;
    for (int l = 0; l < 4 + p; ++l) t += "linha " + std::string(1, static_cast<char>('a' + l + 3 * p)) + "\n";
    t += "Ligue para o ramal 1002.\n";
    for (int l = 0; l < 4; ++l) t += "fim " + std::string(1, static_cast<char>('a' + l + 5 * p)) + "\n";
    texts.push_back(t);
  }
  texts[0] = "Ligue para o ramal 1002.\n" + texts[0];
  auto sections = pages(texts);
  const auto before = sections;
  remove_repeated_page_lines(sections);
  EXPECT_EQ(sections, before);
}

TEST(RepeatedPageLines, SectionsWithoutPagesIgnored) {
  std::vector<Section> sections = {
      {"Cabeçalho\na", 0, "h"}, {"Cabeçalho\nb", 0, "h"}, {"Cabeçalho\nc", 0, "h"}};
  const auto before = sections;
  remove_repeated_page_lines(sections);
  EXPECT_EQ(sections, before);
}

TEST(NormalizeSections, NormalisesAndDropsEmpty) {
  const auto out = normalize_sections({{"  a  b ", 1, {}}, {" \n\u200B ", 2, {}}, {"c", 3, "Título"}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (Section{"a b", 1, {}}));
  EXPECT_EQ(out[1], (Section{"c", 3, "Título"}));
}

}  // namespace
}  // namespace ivr::knowledge
