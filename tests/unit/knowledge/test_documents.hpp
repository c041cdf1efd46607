#pragma once
// Builders of small real documents for the knowledge tests: PDFs written by hand (objects, content
// streams and a correct xref table) and zip/DOCX archives written with libzip.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ivr::knowledge::test {

struct PdfOptions {
  // A standard security handler whose user password is not empty: poppler cannot open the file without
  // it (what "the PDF is encrypted" is about). The O/U entries are not derived from a real password:
  // no reader can open it, which is all the test needs.
  bool encrypted = false;
};

// One page per element; each page's lines are drawn top to bottom in Helvetica (WinAnsi encoding, so
// UTF-8 input limited to Latin-1 plus "—"). A page with no lines gets a filled rectangle only (no text).
std::string make_pdf(const std::vector<std::vector<std::string>>& pages, const PdfOptions& options = {});

using ZipEntries = std::vector<std::pair<std::string, std::string>>;  // name, content

// A zip archive (deflate) of the entries, in order.
std::string make_zip(const ZipEntries& entries);

struct DocxParts {
  std::string body;                  // inner XML of <w:body>
  std::string styles;                // inner XML of <w:styles>; no styles part when empty
  std::vector<std::string> headers;  // inner XML of each <w:hdr> → word/header1.xml, …
  std::vector<std::string> footers;  // inner XML of each <w:ftr> → word/footer1.xml, …
  ZipEntries extra;                  // more entries, added after the others
};

// A DOCX: [Content_Types].xml, _rels/.rels, word/document.xml and the optional parts. The "w" prefix
// is bound to the WordprocessingML namespace (and "mc", "wps", "v" for alternate content).
std::string make_docx(const DocxParts& parts);
std::string make_docx(std::string_view body);

// <w:p> with one run of `text` (escaped), optionally styled.
std::string paragraph(std::string_view text, std::string_view style = {});

// Sets the uncompressed size that the local header and the central directory declare for `name`.
void patch_declared_size(std::string& zip, std::string_view name, std::uint32_t size);

// Offset and length of the compressed data of `name`.
std::pair<std::size_t, std::size_t> compressed_data(const std::string& zip, std::string_view name);

}  // namespace ivr::knowledge::test
