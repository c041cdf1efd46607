#include "ivr/knowledge/extractors.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <zip.h>

#include "test_documents.hpp"

namespace ivr::knowledge {
namespace {

using test::DocxParts;
using test::make_docx;
using test::make_zip;
using test::paragraph;

std::string failure(const ExtractResult<std::vector<Section>>& r) {
  if (r) return "";
  EXPECT_EQ(r.error().code, Errc::unprocessable);
  return r.error().reason;
}

std::vector<Section> extract(const std::string& docx, const ExtractLimits& limits = {}) {
  auto r = extract_docx(docx, limits);
  EXPECT_TRUE(r) << (r ? "" : r.error().reason);
  return r ? *r : std::vector<Section>{};
}

// Many paragraphs of highly compressible text: the body of a zip bomb.
std::string big_body(std::size_t bytes) {
  const std::string p =
      paragraph("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  std::string body;
  body.reserve(bytes + p.size());
  while (body.size() < bytes) body += p;
  return body;
}

TEST(DocxExtractor, ParagraphsInOrder) {
  const auto sections =
      extract(make_docx(paragraph("Primeiro parágrafo.") + paragraph("Segundo parágrafo.")));
  ASSERT_EQ(sections.size(), 1u);
  EXPECT_EQ(sections[0].text, "Primeiro parágrafo.\n\nSegundo parágrafo.");
  EXPECT_EQ(sections[0].page, 0);
  EXPECT_EQ(sections[0].heading, "");
}

TEST(DocxExtractor, RunsTabsBreaksAndPreservedSpaces) {
  const std::string body =
      "<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>"
      "<w:r><w:rPr><w:b/></w:rPr><w:t>Olá</w:t></w:r><w:r><w:t xml:space=\"preserve\"> </w:t></w:r>"
      "<w:r><w:t>mundo</w:t><w:tab/><w:t>coluna</w:t><w:br/><w:t>linha</w:t></w:r>"
      "<w:r><w:t xml:space=\"preserve\"> e-mail</w:t><w:noBreakHyphen/><w:t>fixo</w:t></w:r></w:p>";
  const auto sections = extract(make_docx(body));
  ASSERT_EQ(sections.size(), 1u);
  EXPECT_EQ(sections[0].text, "Olá mundo\tcoluna\nlinha e-mail-fixo");
}

TEST(DocxExtractor, HeadingsStartSections) {
  const std::string body = paragraph("Clínica Vida Plena — Preços", "Title") +
                           paragraph("Introdução sem título.") + paragraph("Consultas", "Heading1") +
                           paragraph("Clínico geral: R$ 180.") + paragraph("Exames", "heading2") +
                           paragraph("Hemograma: R$ 40.");
  const auto sections = extract(make_docx(body));
  ASSERT_EQ(sections.size(), 3u);
  EXPECT_EQ(sections[0].heading, "Clínica Vida Plena — Preços");
  EXPECT_EQ(sections[0].text, "Clínica Vida Plena — Preços\n\nIntrodução sem título.");
  EXPECT_EQ(sections[1].heading, "Consultas");
  EXPECT_EQ(sections[1].text, "Consultas\n\nClínico geral: R$ 180.");
  EXPECT_EQ(sections[2].heading, "Exames");
  EXPECT_EQ(sections[2].text, "Exames\n\nHemograma: R$ 40.");
}

TEST(DocxExtractor, TextBeforeTheFirstHeadingHasNoHeading) {
  const auto sections =
      extract(make_docx(paragraph("Prefácio.") + paragraph("Capítulo 1", "Heading1") + paragraph("Texto.")));
  ASSERT_EQ(sections.size(), 2u);
  EXPECT_EQ(sections[0].heading, "");
  EXPECT_EQ(sections[0].text, "Prefácio.");
  EXPECT_EQ(sections[1].heading, "Capítulo 1");
}

TEST(DocxExtractor, LocalisedHeadingStylesAndOutlineLevels) {
  // Portuguese Word: style id "Ttulo1", built-in name "heading 1". A custom style based on it inherits
  // its outline level. A paragraph may also carry an outline level itself.
  DocxParts parts;
  parts.styles =
      "<w:style w:type=\"paragraph\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/></w:style>"
      "<w:style w:type=\"paragraph\" w:styleId=\"Ttulo1\"><w:name w:val=\"heading 1\"/>"
      "<w:pPr><w:outlineLvl w:val=\"0\"/></w:pPr></w:style>"
      "<w:style w:type=\"paragraph\" w:styleId=\"MeuTitulo\"><w:name w:val=\"Meu título\"/>"
      "<w:basedOn w:val=\"Ttulo1\"/></w:style>"
      "<w:style w:type=\"paragraph\" w:styleId=\"Corpo\"><w:name w:val=\"Corpo\"/>"
      "<w:basedOn w:val=\"Normal\"/><w:pPr><w:outlineLvl w:val=\"9\"/></w:pPr></w:style>";
  parts.body = paragraph("Horários", "Ttulo1") + paragraph("Das 8h às 18h.", "Corpo") +
               paragraph("Endereço", "MeuTitulo") + paragraph("Rua das Acácias, 1450.") +
               "<w:p><w:pPr><w:outlineLvl w:val=\"1\"/></w:pPr><w:r><w:t>Estacionamento</w:t></w:r></w:p>" +
               paragraph("Gratuito por duas horas.");
  const auto sections = extract(make_docx(parts));
  ASSERT_EQ(sections.size(), 3u);
  EXPECT_EQ(sections[0].heading, "Horários");
  EXPECT_EQ(sections[0].text, "Horários\n\nDas 8h às 18h.");
  EXPECT_EQ(sections[1].heading, "Endereço");
  EXPECT_EQ(sections[2].heading, "Estacionamento");
}

TEST(DocxExtractor, TablesAsRows) {
  const auto cell = [](std::string_view text) { return "<w:tc>" + paragraph(text) + "</w:tc>"; };
  const std::string body = paragraph("Tabela de preços") + "<w:tbl><w:tblPr/>" + "<w:tr>" +
                           cell("Especialidade") + cell("Valor") + "</w:tr>" + "<w:tr>" +
                           cell("Cardiologia") + cell("R$ 320") + "</w:tr>" + "<w:tr>" + cell("") + cell("") +
                           "</w:tr>" +  // an empty row is dropped
                           "<w:tr><w:tc>" + paragraph("Pediatria") + paragraph("(crianças)") + "</w:tc>" +
                           cell("R$ 210") + "</w:tr></w:tbl>" + paragraph("Fim.");
  const auto sections = extract(make_docx(body));
  ASSERT_EQ(sections.size(), 1u);
  EXPECT_EQ(sections[0].text,
            "Tabela de preços\n\nEspecialidade | Valor\nCardiologia | R$ 320\nPediatria (crianças) | R$ "
            "210\n\nFim.");
}

TEST(DocxExtractor, RevisionsFieldsHyperlinksAndContentControls) {
  const std::string body =
      "<w:p><w:r><w:t xml:space=\"preserve\">Ligue </w:t></w:r>"
      "<w:del><w:r><w:delText>3333-0000</w:delText></w:r></w:del>"
      "<w:ins><w:r><w:t>4444-1111</w:t></w:r></w:ins>"
      "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>"
      "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>"
      "<w:hyperlink><w:r><w:t xml:space=\"preserve\"> ou acesse o site</w:t></w:r></w:hyperlink></w:p>"
      "<w:sdt><w:sdtPr/><w:sdtContent>" +
      paragraph("Conteúdo de um controle.") + "</w:sdtContent></w:sdt>";
  const auto sections = extract(make_docx(body));
  ASSERT_EQ(sections.size(), 1u);
  EXPECT_EQ(sections[0].text, "Ligue 4444-1111 ou acesse o site\n\nConteúdo de um controle.");
}

TEST(DocxExtractor, TextBoxesOnceAfterTheirParagraph) {
  // Word writes a text box twice: the DrawingML choice and a VML fallback.
  const std::string box = "<w:txbxContent>" + paragraph("Aviso: feriado dia 15.") + "</w:txbxContent>";
  const std::string body =
      "<w:p><w:r><w:t>Antes.</w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires=\"wps\">"
      "<w:drawing><wps:txbx>" +
      box +
      "</wps:txbx></w:drawing></mc:Choice><mc:Fallback>"
      "<w:pict><v:textbox>" +
      box +
      "</v:textbox></w:pict></mc:Fallback></mc:AlternateContent>"
      "</w:r></w:p>" +
      paragraph("Depois.");
  const auto sections = extract(make_docx(body));
  ASSERT_EQ(sections.size(), 1u);
  EXPECT_EQ(sections[0].text, "Antes.\n\nAviso: feriado dia 15.\n\nDepois.");
}

TEST(DocxExtractor, HeadersAndFooters) {
  DocxParts parts;
  parts.body = paragraph("Corpo do documento.");
  parts.headers = {paragraph("Clínica Vida Plena"), paragraph("Clínica Vida Plena")};  // first/default pages
  parts.footers = {paragraph("Rua das Acácias, 1450 — (41) 3333-0000")};
  auto sections = extract(make_docx(parts));
  ASSERT_EQ(sections.size(), 3u);
  EXPECT_EQ(sections[0].text, "Corpo do documento.");
  EXPECT_EQ(sections[1].text, "Clínica Vida Plena");
  EXPECT_EQ(sections[2].text, "Rua das Acácias, 1450 — (41) 3333-0000");

  ExtractLimits limits;
  limits.docx_headers_footers = false;
  sections = extract(make_docx(parts), limits);
  ASSERT_EQ(sections.size(), 1u);
}

TEST(DocxExtractor, NoTextAndNoDocumentPart) {
  EXPECT_EQ(failure(extract_docx(make_docx(paragraph("  ")))), "the document has no text");
  EXPECT_EQ(failure(extract_docx(make_zip({{"word/styles.xml", "<w:styles/>"}}))),
            "the DOCX has no word/document.xml");
}

TEST(DocxExtractor, InvalidXml) {
  const std::string docx = make_zip({{"word/document.xml", "<w:document><w:body><w:p>unclosed"}});
  EXPECT_EQ(failure(extract_docx(docx)), "the DOCX document.xml is not valid XML");
}

TEST(DocxExtractor, CorruptArchive) {
  const std::string docx = make_docx(paragraph("Texto suficiente para ter dados comprimidos de verdade. ") +
                                     paragraph("Mais um parágrafo para o fluxo deflate."));
  EXPECT_EQ(failure(extract_docx(docx.substr(0, docx.size() / 2))), "the DOCX archive is damaged");
  // An upload cut before its central directory is still sniffed as a DOCX, and fails with the reason.
  EXPECT_EQ(failure(extract_document(docx.substr(0, docx.find("PK\x01\x02")))),
            "the DOCX archive is damaged");
  EXPECT_EQ(failure(extract_docx("PK\x03\x04 not really a zip")), "the DOCX archive is damaged");
  // Directory intact, compressed data of document.xml scrambled: inflate or the CRC check fails.
  std::string scrambled = docx;
  const auto [start, length] = test::compressed_data(scrambled, "word/document.xml");
  ASSERT_GT(length, 8u);
  for (std::size_t i = start + 2; i < start + length - 2; ++i)
    scrambled[i] = static_cast<char>(scrambled[i] ^ 0x5A);
  EXPECT_EQ(failure(extract_docx(scrambled)), "the DOCX archive is damaged");
}

TEST(DocxExtractor, TruncationsNeverCrash) {
  const std::string docx = make_docx(paragraph("Olá") + paragraph("mundo"));
  for (std::size_t n = 0; n < docx.size(); n += 3) {
    const auto r = extract_docx(std::string_view(docx).substr(0, n));
    EXPECT_FALSE(r) << n;
  }
}

TEST(DocxExtractor, TooManyEntries) {
  test::ZipEntries entries = {
      {"word/document.xml", "<w:document><w:body>" + paragraph("x") + "</w:body></w:document>"}};
  for (int i = 0; i < 30; ++i) entries.emplace_back("word/media/image" + std::to_string(i) + ".png", "png");
  ExtractLimits limits;
  limits.max_zip_entries = 20;
  EXPECT_EQ(failure(extract_docx(make_zip(entries), limits)),
            "the DOCX archive has too many entries (31; the limit is 20)");
  limits.max_zip_entries = 31;
  EXPECT_TRUE(extract_docx(make_zip(entries), limits));
}

TEST(DocxExtractor, ZipBombByDeclaredSize) {
  const std::string docx = make_docx(big_body(1 << 20));
  ASSERT_LT(docx.size(), 64u * 1024) << "the test needs a highly compressed part";
  ExtractLimits limits;
  limits.max_uncompressed_bytes = 256 * 1024;
  EXPECT_EQ(failure(extract_docx(docx, limits)),
            "the DOCX is too large once uncompressed (more than 256 KB; a zip bomb?)");
}

TEST(DocxExtractor, ZipBombThatLiesAboutItsSize) {
  // The directory and local header claim 1 KB; the data inflates to 1 MB. Reading must stop at the cap.
  std::string docx = make_docx(big_body(1 << 20));
  test::patch_declared_size(docx, "word/document.xml", 1000);
  ExtractLimits limits;
  limits.max_uncompressed_bytes = 256 * 1024;
  EXPECT_EQ(failure(extract_docx(docx, limits)),
            "the DOCX is too large once uncompressed (more than 256 KB; a zip bomb?)");
}

TEST(DocxExtractor, ZipBombWithDefaultLimits) {
  // 60 MB of XML that compresses to about 60 KB, against the default 50 MB budget, declared and lying.
  std::string docx = make_docx(big_body(60u << 20));
  ASSERT_LT(docx.size(), 1u << 20);
  EXPECT_EQ(failure(extract_docx(docx)),
            "the DOCX is too large once uncompressed (more than 50 MB; a zip bomb?)");
  test::patch_declared_size(docx, "word/document.xml", 1000);
  EXPECT_EQ(failure(extract_docx(docx)),
            "the DOCX is too large once uncompressed (more than 50 MB; a zip bomb?)");
}

TEST(DocxExtractor, BudgetCoversAllParts) {
  DocxParts parts;
  parts.body = paragraph("Pequeno.");
  parts.headers = {big_body(300 * 1024)};
  ExtractLimits limits;
  limits.max_uncompressed_bytes = 256 * 1024;
  EXPECT_EQ(failure(extract_docx(make_docx(parts), limits)),
            "the DOCX is too large once uncompressed (more than 256 KB; a zip bomb?)");
  limits.docx_headers_footers = false;
  EXPECT_TRUE(extract_docx(make_docx(parts), limits));
}

TEST(DocxExtractor, TextLimit) {
  ExtractLimits limits;
  limits.max_text_bytes = 10;
  EXPECT_EQ(failure(extract_docx(make_docx(paragraph("mais de dez bytes de texto")), limits)),
            "the document has more than 10 bytes of text");
}

TEST(DocxExtractor, PasswordProtectedEntry) {
  // Word protects documents with an OLE2 container (sniffing names it); an encrypted zip entry is the
  // other way a "DOCX" can be locked. libzip can only write one when built with a crypto backend.
  const std::string xml = "<w:document><w:body>" + paragraph("segredo") + "</w:body></w:document>";
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_source_keep(source);
  zip_t* archive = zip_open_from_source(source, ZIP_TRUNCATE, &error);
  ASSERT_NE(archive, nullptr);
  const zip_int64_t index =
      zip_file_add(archive, "word/document.xml", zip_source_buffer(archive, xml.data(), xml.size(), 0), 0);
  ASSERT_GE(index, 0);
  const bool can_encrypt =
      zip_file_set_encryption(archive, static_cast<zip_uint64_t>(index), ZIP_EM_AES_256, "senha") == 0;
  ASSERT_EQ(zip_close(archive), 0);
  std::string docx;
  ASSERT_EQ(zip_source_open(source), 0);
  char buffer[4096];
  zip_int64_t n;
  while ((n = zip_source_read(source, buffer, sizeof buffer)) > 0)
    docx.append(buffer, static_cast<std::size_t>(n));
  zip_source_close(source);
  zip_source_free(source);
  if (!can_encrypt) GTEST_SKIP() << "libzip was built without encryption support";
  EXPECT_EQ(failure(extract_docx(docx)), "the DOCX is password-protected");
}

TEST(DocxExtractor, NotPrefixedNamespaces) {
  // Producers other than Word may bind the main namespace to another prefix.
  const std::string xml =
      "<doc:document xmlns:doc=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><doc:body>"
      "<doc:p><doc:pPr><doc:pStyle "
      "doc:val=\"Heading1\"/></doc:pPr><doc:r><doc:t>Título</doc:t></doc:r></doc:p>"
      "<doc:p><doc:r><doc:t>Texto.</doc:t></doc:r></doc:p></doc:body></doc:document>";
  const auto sections = extract(make_zip({{"word/document.xml", xml}}));
  ASSERT_EQ(sections.size(), 1u);
  EXPECT_EQ(sections[0].heading, "Título");
  EXPECT_EQ(sections[0].text, "Título\n\nTexto.");
}

TEST(DocxExtractor, RealWorldDocx) {
  // tests/data/knowledge/clinica_precos.docx, from the shared KB fixtures.
  std::ifstream in(std::string(IVR_TEST_SOURCE_DIR) + "/tests/data/knowledge/clinica_precos.docx",
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string docx = ss.str();
  ASSERT_FALSE(docx.empty());
  const auto sections = extract_document(docx);
  ASSERT_TRUE(sections) << sections.error().reason;
  ASSERT_GE(sections->size(), 3u);
  EXPECT_EQ((*sections)[0].heading, "Clínica Vida Plena — Preços");
  EXPECT_EQ((*sections)[1].heading, "Tabela de preços particulares");
  bool table = false;
  for (const Section& s : *sections)
    table = table || s.text.find("Cardiologia | R$ 320") != std::string::npos;
  EXPECT_TRUE(table);
}

}  // namespace
}  // namespace ivr::knowledge
