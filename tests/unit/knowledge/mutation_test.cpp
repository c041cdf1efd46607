// Hostile input: documents with random bytes changed, inserted or cut. Whatever the damage, extraction
// returns sections or a reason, and never crashes, hangs or reads out of bounds (the suite also runs
// under ASan/UBSan with IVR_SANITIZE=ON).

#include "ivr/knowledge/extractors.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ivr/knowledge/chunker.hpp"
#include "ivr/knowledge/normalize_text.hpp"
#include "test_documents.hpp"

namespace ivr::knowledge {
namespace {

std::string mutate(std::string s, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 8);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const std::size_t pos = rng() % s.size();
    switch (rng() % 4) {
      case 0:
        s[pos] = static_cast<char>(rng());
        break;
      case 1:
        s.insert(pos, 1, static_cast<char>(rng()));
        break;
      case 2:
        s.erase(pos, 1 + rng() % 16);
        break;
      default:
        s.resize(pos);
        break;
    }
  }
  return s;
}

void check(const std::string& bytes) {
  const auto r = extract_document(bytes);
  if (!r) {
    EXPECT_FALSE(r.error().reason.empty());
    return;
  }
  // Whatever came out goes through the rest of the pipeline.
  for (const Chunk& c : chunk_sections(normalize_sections(*r), {50, 10})) EXPECT_LE(c.tokens, 50u);
}

TEST(Mutation, Docx) {
  const std::string docx = test::make_docx(test::DocxParts{
      test::paragraph("Título", "Heading1") + test::paragraph("Texto do corpo com acentuação.") +
          "<w:tbl><w:tr><w:tc>" + test::paragraph("a") + "</w:tc><w:tc>" + test::paragraph("b") +
          "</w:tc></w:tr></w:tbl>",
      "<w:style w:type=\"paragraph\" w:styleId=\"Heading1\"><w:name w:val=\"heading 1\"/></w:style>",
      {test::paragraph("Cabeçalho")},
      {},
      {}});
  std::mt19937 rng(11);
  for (int i = 0; i < 600; ++i) check(mutate(docx, rng));
}

TEST(Mutation, Pdf) {
  const std::string pdf = test::make_pdf({{"Página um com infor-", "mação."}, {"Página dois."}, {}});
  std::mt19937 rng(12);
  for (int i = 0; i < 400; ++i) check(mutate(pdf, rng));
}

TEST(Mutation, Text) {
  std::mt19937 rng(13);
  for (int i = 0; i < 600; ++i)
    check(
        mutate("Vacina\xE7\xE3o: ter\xE7"
               "a a quinta.\r\nRamal 1002 \xE2\x80\x94 ok",
               rng));
}

}  // namespace
}  // namespace ivr::knowledge
