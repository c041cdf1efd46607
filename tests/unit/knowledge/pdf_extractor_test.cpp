#include "ivr/knowledge/extractors.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "ivr/knowledge/normalize_text.hpp"
#include "test_documents.hpp"

namespace ivr::knowledge {
namespace {

using test::make_pdf;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string failure(const ExtractResult<std::vector<Section>>& r) {
  if (r) return "";
  EXPECT_EQ(r.error().code, Errc::unprocessable);
  return r.error().reason;
}

TEST(PdfExtractor, TextPerPageWithPageNumbers) {
  const std::string pdf = make_pdf({
      {"Clínica Vida Plena — Horários", "Atendemos de segunda a sexta, das 8h às 18h."},
      {"Convênios: Unimed, Bradesco Saúde e Amil."},
  });
  const auto sections = extract_pdf(pdf);
  ASSERT_TRUE(sections) << sections.error().reason;
  ASSERT_EQ(sections->size(), 2u);
  EXPECT_EQ((*sections)[0].page, 1);
  EXPECT_EQ((*sections)[1].page, 2);
  EXPECT_TRUE((*sections)[0].heading.empty());
  const auto normalized = normalize_sections(*sections);
  EXPECT_EQ(normalized[0].text,
            "Clínica Vida Plena — Horários\nAtendemos de segunda a sexta, das 8h às 18h.");
  EXPECT_EQ(normalized[1].text, "Convênios: Unimed, Bradesco Saúde e Amil.");
}

TEST(PdfExtractor, PagesWithoutTextAreSkipped) {
  const auto sections = extract_pdf(make_pdf({{"primeira"}, {}, {"terceira"}}));
  ASSERT_TRUE(sections);
  ASSERT_EQ(sections->size(), 2u);
  EXPECT_EQ((*sections)[0].page, 1);
  EXPECT_EQ((*sections)[1].page, 3);
}

TEST(PdfExtractor, EncryptedPdf) {
  test::PdfOptions options;
  options.encrypted = true;
  const std::string pdf = make_pdf({{"segredo"}}, options);
  EXPECT_EQ(failure(extract_pdf(pdf)), "the PDF is encrypted");
}

TEST(PdfExtractor, NoTextLayer) {
  EXPECT_EQ(failure(extract_pdf(make_pdf({{}, {}}))), "the PDF has no text layer (scanned images?)");
}

TEST(PdfExtractor, DamagedPdf) {
  EXPECT_EQ(failure(extract_pdf("%PDF-1.4\nthis is not a PDF body at all\n%%EOF\n")), "the PDF is damaged");
  EXPECT_EQ(failure(extract_pdf("%PDF-")), "the PDF is damaged");
}

TEST(PdfExtractor, TruncatedPdfNeverCrashes) {
  // poppler reconstructs what it can from a truncated file; whatever it does, the answer is either text
  // or one of our reasons.
  const std::string pdf = make_pdf({{"página um"}, {"página dois"}, {"página três"}});
  const std::set<std::string> reasons = {"the PDF is damaged", "the PDF has no text layer (scanned images?)"};
  for (std::size_t n = 5; n < pdf.size(); n += 7) {
    const auto r = extract_pdf(std::string_view(pdf).substr(0, n));
    if (!r) {
      EXPECT_TRUE(reasons.contains(r.error().reason)) << n << ": " << r.error().reason;
    }
  }
}

TEST(PdfExtractor, PageLimit) {
  const std::vector<std::vector<std::string>> pages(5, {"texto"});
  ExtractLimits limits;
  limits.max_pages = 4;
  EXPECT_EQ(failure(extract_pdf(make_pdf(pages), limits)), "the PDF has 5 pages; the limit is 4");
  limits.max_pages = 5;
  EXPECT_TRUE(extract_pdf(make_pdf(pages), limits));
}

TEST(PdfExtractor, TextLimit) {
  ExtractLimits limits;
  limits.max_text_bytes = 20;
  EXPECT_EQ(failure(extract_pdf(make_pdf({{"um texto que passa de vinte bytes"}}), limits)),
            "the document has more than 20 bytes of text");
}

TEST(PdfExtractor, NotAPdf) {
  const auto r = extract_pdf("just text");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unsupported_media_type);
}

TEST(PdfExtractor, HyphenationAndRunningHeadersNormalised) {
  const std::vector<std::string> topics = {"consultas", "exames", "vacinas", "convênios"};
  std::vector<std::vector<std::string>> pages;
  for (int p = 1; p <= 4; ++p) {
    pages.push_back({"Manual do Paciente — Clínica Vida Plena",
                     "Sobre " + topics[p - 1] + ", leia esta infor-", "mação com atenção.",
                     "Página " + std::to_string(p) + " de 4"});
  }
  const auto sections = extract_pdf(make_pdf(pages));
  ASSERT_TRUE(sections);
  const auto normalized = normalize_sections(*sections);
  ASSERT_EQ(normalized.size(), 4u);
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(normalized[p].text, "Sobre " + topics[p] + ", leia esta informação com atenção.");
    EXPECT_EQ(normalized[p].page, p + 1);
  }
}

TEST(PdfExtractor, RealWorldPdf) {
  // Made by ReportLab (tests/data/knowledge/tecnosul_planos.pdf, from the shared KB fixtures).
  const std::string pdf =
      read_file(std::string(IVR_TEST_SOURCE_DIR) + "/tests/data/knowledge/tecnosul_planos.pdf");
  ASSERT_FALSE(pdf.empty());
  const auto sections = extract_document(pdf);
  ASSERT_TRUE(sections) << sections.error().reason;
  const auto normalized = normalize_sections(*sections);
  ASSERT_FALSE(normalized.empty());
  EXPECT_EQ(normalized[0].page, 1);
  EXPECT_NE(normalized[0].text.find("Fibra 600 por 129 reais"), std::string::npos);
  bool support = false;
  for (const Section& s : normalized)
    support = support || s.text.find("24 horas por dia") != std::string::npos;
  EXPECT_TRUE(support);
}

}  // namespace
}  // namespace ivr::knowledge
