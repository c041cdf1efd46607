#include "test_documents.hpp"

#include <cstdint>
#include <cstdio>
#include <stdexcept>

#include <zip.h>

namespace ivr::knowledge::test {
namespace {

// UTF-8 → WinAnsi bytes for a PDF literal string, with ( ) \ escaped.
std::string pdf_string(std::string_view utf8) {
  std::string out = "(";
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    auto c = static_cast<unsigned char>(utf8[i]);
    unsigned cp = c;
    if (c >= 0xC0 && c < 0xE0 && i + 1 < utf8.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3Fu);
    } else if (c >= 0xE0 && i + 2 < utf8.size()) {
      cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(utf8[i + 1]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(utf8[i + 2]) & 0x3Fu);
      i += 2;
    }
    if (cp == 0x2014) cp = 0x97;  // em dash in WinAnsi
    if (cp > 0xFF) cp = '?';
    if (cp == '(' || cp == ')' || cp == '\\') out += '\\';
    out += static_cast<char>(cp);
  }
  return out + ")";
}

std::string u32le(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

std::uint32_t read_le(const std::string& s, std::size_t pos, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
  return v;
}

// Central directory entry of `name`: its offset.
std::size_t find_central_entry(const std::string& zip, std::string_view name) {
  for (std::size_t pos = zip.find("PK\x01\x02"); pos != std::string::npos;
       pos = zip.find("PK\x01\x02", pos + 4)) {
    const std::size_t len = read_le(zip, pos + 28, 2);
    if (zip.compare(pos + 46, len, name) == 0) return pos;
  }
  throw std::runtime_error("no such zip entry");
}

std::string escape_xml(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '&') {
      out += "&amp;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

constexpr std::string_view kNamespaces =
    R"( xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main")"
    R"( xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006")"
    R"( xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape")"
    R"( xmlns:v="urn:schemas-microsoft-com:vml")";

}  // namespace

std::string make_pdf(const std::vector<std::vector<std::string>>& pages, const PdfOptions& options) {
  // Objects: 1 catalog, 2 pages, 3 font, then per page: page, contents; then the encryption dictionary.
  std::vector<std::string> objects;
  std::string kids;
  for (std::size_t p = 0; p < pages.size(); ++p) kids += std::to_string(4 + 2 * p) + " 0 R ";
  objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages.size()) + " >>");
  objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  for (std::size_t p = 0; p < pages.size(); ++p) {
    objects.push_back(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
        "/Contents " +
        std::to_string(5 + 2 * p) + " 0 R >>");
    std::string content;
    if (pages[p].empty()) {
      content = "0.5 g 72 72 468 648 re f\n";  // a "scanned" page: paint, no text
    } else {
      content = "BT /F1 11 Tf 72 740 Td 14 TL\n";
      for (const std::string& line : pages[p]) content += pdf_string(line) + " Tj T*\n";
      content += "ET\n";
    }
    objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content +
                      "endstream");
  }
  if (options.encrypted) {
    objects.push_back("<< /Filter /Standard /V 1 /R 2 /O <" + std::string(64, 'A') + "> /U <" +
                      std::string(64, 'B') + "> /P -44 >>");
  }

  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t offset : offsets) {
    char line[21];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", offset);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R";
  if (options.encrypted) {
    pdf += " /Encrypt " + std::to_string(objects.size()) +
           " 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> "
           "<0123456789ABCDEF0123456789ABCDEF>]";
  }
  pdf += " >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

std::string make_zip(const ZipEntries& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (!source) throw std::runtime_error("zip_source_buffer_create");
  zip_source_keep(source);
  zip_t* archive = zip_open_from_source(source, ZIP_TRUNCATE, &error);
  if (!archive) throw std::runtime_error("zip_open_from_source");
  for (const auto& [name, content] : entries) {
    // zip_source_buffer does not copy: `entries` outlives zip_close.
    zip_source_t* data = zip_source_buffer(archive, content.data(), content.size(), 0);
    if (!data || zip_file_add(archive, name.c_str(), data, ZIP_FL_ENC_UTF_8) < 0) {
      throw std::runtime_error("zip_file_add");
    }
  }
  if (zip_close(archive) != 0) throw std::runtime_error("zip_close");
  std::string out;
  if (zip_source_open(source) != 0) throw std::runtime_error("zip_source_open");
  char buffer[64 * 1024];
  zip_int64_t n;
  while ((n = zip_source_read(source, buffer, sizeof buffer)) > 0)
    out.append(buffer, static_cast<std::size_t>(n));
  zip_source_close(source);
  zip_source_free(source);
  return out;
}

std::string make_docx(const DocxParts& parts) {
  ZipEntries entries;
  entries.emplace_back("[Content_Types].xml",
                       R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
                       R"(<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">)"
                       R"(<Default Extension="xml" ContentType="application/xml"/>)"
                       R"(<Override PartName="/word/document.xml" ContentType="application/)"
                       R"(vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>)");
  entries.emplace_back(
      "_rels/.rels", R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
                     R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
                     R"(<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/)"
                     R"(relationships/officeDocument" Target="word/document.xml"/></Relationships>)");
  entries.emplace_back("word/document.xml", R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
                                            "<w:document" +
                                                std::string(kNamespaces) + "><w:body>" + parts.body +
                                                "<w:sectPr/></w:body></w:document>");
  if (!parts.styles.empty()) {
    entries.emplace_back("word/styles.xml", "<?xml version=\"1.0\"?><w:styles" + std::string(kNamespaces) +
                                                ">" + parts.styles + "</w:styles>");
  }
  for (std::size_t i = 0; i < parts.headers.size(); ++i) {
    entries.emplace_back("word/header" + std::to_string(i + 1) + ".xml",
                         "<w:hdr" + std::string(kNamespaces) + ">" + parts.headers[i] + "</w:hdr>");
  }
  for (std::size_t i = 0; i < parts.footers.size(); ++i) {
    entries.emplace_back("word/footer" + std::to_string(i + 1) + ".xml",
                         "<w:ftr" + std::string(kNamespaces) + ">" + parts.footers[i] + "</w:ftr>");
  }
  for (const auto& e : parts.extra) entries.push_back(e);
  return make_zip(entries);
}

std::string make_docx(std::string_view body) {
  return make_docx(DocxParts{std::string(body), {}, {}, {}, {}});
}

std::string paragraph(std::string_view text, std::string_view style) {
  std::string p = "<w:p>";
  if (!style.empty()) p += "<w:pPr><w:pStyle w:val=\"" + std::string(style) + "\"/></w:pPr>";
  return p + "<w:r><w:t xml:space=\"preserve\">" + escape_xml(text) + "</w:t></w:r></w:p>";
}

void patch_declared_size(std::string& zip, std::string_view name, std::uint32_t size) {
  const std::size_t central = find_central_entry(zip, name);
  zip.replace(central + 24, 4, u32le(size));
  const std::size_t local = read_le(zip, central + 42, 4);
  zip.replace(local + 22, 4, u32le(size));
}

std::pair<std::size_t, std::size_t> compressed_data(const std::string& zip, std::string_view name) {
  const std::size_t central = find_central_entry(zip, name);
  const std::size_t compressed = read_le(zip, central + 20, 4);
  const std::size_t local = read_le(zip, central + 42, 4);
  const std::size_t start = local + 30 + read_le(zip, local + 26, 2) + read_le(zip, local + 28, 2);
  return {start, compressed};
}

}  // namespace ivr::knowledge::test
