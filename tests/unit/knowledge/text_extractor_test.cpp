#include "ivr/knowledge/extractors.hpp"

#include <gtest/gtest.h>

#include <string>

#include <boost/system/system_error.hpp>

#include "test_documents.hpp"

namespace ivr::knowledge {
namespace {

std::string text_of(std::string_view bytes) {
  const auto r = extract_text(bytes);
  EXPECT_TRUE(r) << (r ? "" : r.error().reason);
  if (!r || r->size() != 1) return "<failed>";
  EXPECT_EQ((*r)[0].page, 0);
  EXPECT_EQ((*r)[0].heading, "");
  return (*r)[0].text;
}

TEST(TextExtractor, Utf8KeptAsIs) {
  EXPECT_EQ(text_of("Recepção: ramal 1000.\r\nFinanceiro: ramal 1002.\n"),
            "Recepção: ramal 1000.\r\nFinanceiro: ramal 1002.\n");
}

TEST(TextExtractor, BomAndDosEndOfFileStripped) {
  EXPECT_EQ(text_of("\xEF\xBB\xBFVacinação"), "Vacinação");
  EXPECT_EQ(text_of("fim\r\n\x1A"), "fim\r\n");
}

TEST(TextExtractor, Latin1ConvertedToUtf8) {
  EXPECT_EQ(text_of("Vacina\xE7\xE3o: ter\xE7"
                    "a a quinta, das 9h \xE0s 16h."),
            "Vacinação: terça a quinta, das 9h às 16h.");
  EXPECT_EQ(text_of("\x93"
                    "aspas\x94 \x96 travess\xE3o \x80"
                    "10"),
            "“aspas” – travessão €10");
}

TEST(TextExtractor, Failures) {
  auto r = extract_text(std::string("bin\0ary", 7));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unsupported_media_type);
  EXPECT_EQ(r.error().reason, "the file is not a text file");
  r = extract_text(" \r\n\t ");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unprocessable);
  EXPECT_EQ(r.error().reason, "the document has no text");
  ExtractLimits limits;
  limits.max_text_bytes = 4;
  r = extract_text("cinco", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "the document has more than 4 bytes of text");
}

TEST(ExtractDocument, DispatchesOnTheSniffedType) {
  auto r = extract_document(test::make_pdf({{"pdf text"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].page, 1);
  r = extract_document(test::make_docx(test::paragraph("docx text")));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].text, "docx text");
  r = extract_document("plain text");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].text, "plain text");
  r = extract_document("");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, "the file is empty");
  r = extract_document(
      "\x7F"
      "ELF\x02\x01\x01\0\0\0");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unsupported_media_type);
}

TEST(ExtractError, ValueThrowsWithTheReason) {
  const auto r = extract_text("");
  ASSERT_FALSE(r);
  try {
    (void)r.value();
    FAIL() << "value() must throw";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), Errc::unprocessable);
    EXPECT_NE(std::string(e.what()).find("the document has no text"), std::string::npos);
  }
}

}  // namespace
}  // namespace ivr::knowledge
