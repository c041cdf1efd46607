#include "ivr/knowledge/document_type.hpp"

#include <gtest/gtest.h>

#include <string>

#include "test_documents.hpp"

namespace ivr::knowledge {
namespace {

using test::make_docx;
using test::make_pdf;
using test::make_zip;
using test::paragraph;

std::string bytes(std::string_view s) {
  return std::string(s);
}

// The reason of an unsupported file, or "" when it was accepted.
std::string rejection(std::string_view data) {
  auto r = sniff_document_type(data);
  if (r) return "";
  EXPECT_EQ(r.error().code, Errc::unsupported_media_type);
  return r.error().reason;
}

TEST(DocumentType, Names) {
  EXPECT_EQ(to_string(DocumentType::pdf), "pdf");
  EXPECT_EQ(to_string(DocumentType::docx), "docx");
  EXPECT_EQ(to_string(DocumentType::txt), "txt");
  EXPECT_EQ(media_type(DocumentType::pdf), "application/pdf");
  EXPECT_EQ(media_type(DocumentType::docx),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(media_type(DocumentType::txt), "text/plain; charset=utf-8");
}

TEST(DocumentType, Pdf) {
  EXPECT_EQ(sniff_document_type(make_pdf({{"Olá"}})).value(), DocumentType::pdf);
  // Structure is poppler's business: the magic decides the type, a damaged PDF fails at extraction.
  EXPECT_EQ(sniff_document_type("%PDF-1.7\ngarbage").value(), DocumentType::pdf);
  // The magic must be at the start: anything else is judged as what it is (here: a line of text).
  EXPECT_EQ(sniff_document_type(" %PDF-1.4").value(), DocumentType::txt);
}

TEST(DocumentType, Docx) {
  const std::string docx = make_docx(paragraph("Olá"));
  EXPECT_EQ(sniff_document_type(docx).value(), DocumentType::docx);
}

TEST(DocumentType, DocxWithArchiveComment) {
  // The end-of-central-directory record is followed by a comment (which may contain its signature).
  std::string docx = make_docx(paragraph("Olá"));
  const std::string comment = "PK\x05\x06 not a record";
  docx[docx.size() - 2] = static_cast<char>(comment.size());
  docx += comment;
  EXPECT_EQ(sniff_document_type(docx).value(), DocumentType::docx);
}

TEST(DocumentType, DocxWithZip64Directory) {
  // Rewrite the end record the zip64 way: 0xFFFF/0xFFFFFFFF placeholders, the real values in a zip64
  // end-of-central-directory record found through its locator.
  std::string zip = make_docx(paragraph("Olá"));
  const std::size_t eocd = zip.rfind("PK\x05\x06");
  const auto le = [&](std::size_t pos, int n) {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(zip[pos + i]);
    return v;
  };
  const auto put = [](std::uint64_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
    return s;
  };
  const std::uint64_t entries = le(eocd + 10, 2);
  const std::uint64_t cd_size = le(eocd + 12, 4);
  const std::uint64_t cd_offset = le(eocd + 16, 4);
  std::string z64 = "PK\x06\x06" + put(44, 8) + put(45, 2) + put(45, 2) + put(0, 4) + put(0, 4) +
                    put(entries, 8) + put(entries, 8) + put(cd_size, 8) + put(cd_offset, 8);
  const std::string locator = "PK\x06\x07" + put(0, 4) + put(eocd, 8) + put(1, 4);
  const std::string end = "PK\x05\x06" + put(0, 2) + put(0, 2) + put(0xFFFF, 2) + put(0xFFFF, 2) +
                          put(0xFFFFFFFF, 4) + put(0xFFFFFFFF, 4) + put(0, 2);
  zip = zip.substr(0, eocd) + z64 + locator + end;
  EXPECT_EQ(sniff_document_type(zip).value(), DocumentType::docx);
}

TEST(DocumentType, OtherZipArchives) {
  EXPECT_NE(rejection(make_zip({{"readme.txt", "hello"}})).find("a zip archive"), std::string::npos);
  EXPECT_NE(rejection(make_zip({{"xl/workbook.xml", "<workbook/>"}})).find("spreadsheet"), std::string::npos);
  EXPECT_NE(rejection(make_zip({{"ppt/presentation.xml", "<p/>"}})).find("presentation"), std::string::npos);
  EXPECT_NE(
      rejection(make_zip({{"mimetype", "application/vnd.oasis.opendocument.text"}, {"content.xml", "<x/>"}}))
          .find("OpenDocument"),
      std::string::npos);
  // "word/document.xml" only as a file's content, or under another name, does not make a DOCX.
  EXPECT_NE(rejection(make_zip({{"notes.txt", "word/document.xml"}})), "");
  EXPECT_NE(rejection(make_zip({{"word/document.xml.bak", "<x/>"}})), "");
}

TEST(DocumentType, DamagedZip) {
  // A zip that has lost its directory: a damaged DOCX if a local header names word/document.xml (its
  // extraction then fails with a reason), else a damaged zip.
  const std::string docx = make_docx(paragraph("Olá"));
  EXPECT_EQ(sniff_document_type(docx.substr(0, docx.find("PK\x01\x02"))).value(), DocumentType::docx);
  const std::string other = make_zip({{"a.txt", "hello"}, {"b.txt", "world"}});
  EXPECT_NE(rejection(other.substr(0, other.size() / 2)).find("damaged"), std::string::npos);
  // A directory that claims more entries than it holds.
  std::string lying = other;
  const std::size_t eocd = lying.rfind("PK\x05\x06");
  lying[eocd + 10] = 100;
  lying[eocd + 8] = 100;
  EXPECT_NE(rejection(lying).find("damaged"), std::string::npos);
  // Every truncation is handled without reading past the end, and only a prefix that holds the local
  // header of word/document.xml can pass for a DOCX.
  const std::size_t header = docx.find("word/document.xml");
  ASSERT_NE(header, std::string::npos);
  for (std::size_t n = 1; n < docx.size(); ++n) {
    const auto r = sniff_document_type(std::string_view(docx).substr(0, n));
    if (n < header + 17) {
      EXPECT_FALSE(r && *r == DocumentType::docx) << n;
    }
  }
}

TEST(DocumentType, EmptyFileIsUnprocessable) {
  const auto r = sniff_document_type("");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unprocessable);
  EXPECT_EQ(r.error().reason, "the file is empty");
}

TEST(DocumentType, ExecutablesRenamed) {
  // Whatever the upload was called ("manual.pdf"), the bytes decide.
  std::string elf = bytes(
      "\x7F"
      "ELF\x02\x01\x01");
  elf += std::string(9, '\0') + bytes("\x02\x00\x3E\x00\x01\x00\x00\x00") + std::string(40, '\0');
  EXPECT_NE(rejection(elf).find("ELF"), std::string::npos);
  std::string pe =
      bytes("MZ\x90") + std::string(3, '\0') + bytes("\x04\x00\x00\x00\xFF\xFF") + std::string(50, '\0');
  pe += "This program cannot be run in DOS mode.";
  EXPECT_NE(rejection(pe).find("Windows executable"), std::string::npos);
  EXPECT_NE(rejection(bytes("\xCF\xFA\xED\xFE\x07\x00\x00\x01") + std::string(20, '\0')).find("Mach-O"),
            std::string::npos);
  EXPECT_EQ(rejection(elf), "the file is not a PDF, DOCX or text file (it looks like an executable (ELF))");
}

TEST(DocumentType, PrintableMagicDoesNotRejectText) {
  // "MZ", "GIF8", "RIFF" are also ordinary letters at the start of a text.
  EXPECT_EQ(sniff_document_type("MZ Consultoria — horário de atendimento").value(), DocumentType::txt);
  EXPECT_EQ(sniff_document_type("RIFF de guitarra: aulas às terças").value(), DocumentType::txt);
}

TEST(DocumentType, ImagesArchivesAndOtherFormats) {
  EXPECT_NE(rejection(bytes("\x89PNG\r\n\x1A\n") + std::string(16, '\0')).find("PNG"), std::string::npos);
  EXPECT_NE(rejection(bytes("\xFF\xD8\xFF\xE0\x00\x10JFIF")).find("JPEG"), std::string::npos);
  EXPECT_NE(rejection(bytes("GIF89a\x01\x00\x01\x00\x80\x00\x00")).find("GIF"), std::string::npos);
  EXPECT_NE(rejection(std::string("II*\0\x08\0\0\0", 8)).find("TIFF"), std::string::npos);
  EXPECT_NE(rejection(bytes("\x1F\x8B\x08\x00") + std::string(6, '\0')).find("gzip"), std::string::npos);
  EXPECT_NE(rejection(bytes("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") + std::string(16, '\0')).find(".doc"),
            std::string::npos);
  EXPECT_NE(rejection("{\\rtf1\\ansi Olá}").find("RTF"), std::string::npos);
  EXPECT_NE(rejection(std::string("\xFF\xFEO\0l\0\xE1\0", 8)).find("UTF-16"), std::string::npos);
  EXPECT_NE(rejection(std::string("abc\0def", 7)).find("binary data"), std::string::npos);
}

TEST(DocumentType, Utf8Text) {
  EXPECT_EQ(sniff_document_type("Horário: 8h às 18h.\r\nRamal 1002.\n").value(), DocumentType::txt);
  EXPECT_EQ(sniff_document_type("\xEF\xBB\xBF"
                                "Com BOM")
                .value(),
            DocumentType::txt);
  EXPECT_EQ(sniff_document_type("tab\there\fform feed\vvertical tab").value(), DocumentType::txt);
  EXPECT_EQ(sniff_document_type("DOS text\r\n\x1A").value(), DocumentType::txt);  // trailing ^Z
  EXPECT_EQ(sniff_document_type("emoji 😀 and 中文").value(), DocumentType::txt);
}

TEST(DocumentType, Latin1Text) {
  EXPECT_EQ(sniff_document_type("Vacina\xE7\xE3o: ter\xE7"
                                "a a quinta")
                .value(),
            DocumentType::txt);
  // Windows-1252 punctuation in 0x80..0x9F (“smart quotes”, en dash, €).
  EXPECT_EQ(sniff_document_type("\x93"
                                "cita\xE7\xE3o\x94 \x96 \x80"
                                "5")
                .value(),
            DocumentType::txt);
}

TEST(DocumentType, ControlBytesAreNotText) {
  EXPECT_NE(rejection(std::string("texto\x01 com controle")), "");
  EXPECT_NE(rejection(std::string("texto\x1A no meio")), "");  // ^Z only at the very end
  EXPECT_NE(rejection(std::string("Latin-1 \xE7 with \x1B escape")), "");
  EXPECT_NE(rejection(std::string("Latin-1 \xE7 with undefined \x81 byte")), "");
  EXPECT_NE(rejection(std::string("del \x7F byte")), "");
}

}  // namespace
}  // namespace ivr::knowledge
