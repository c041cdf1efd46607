#include "ivr/knowledge/document_type.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "text_encoding.hpp"
#include "zip_directory.hpp"

namespace ivr::knowledge {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kNotSupported = "the file is not a PDF, DOCX or text file";

ExtractError unsupported(std::string_view what) {
  return {Errc::unsupported_media_type,
          std::string(kNotSupported) + " (it looks like " + std::string(what) + ")"};
}

struct Magic {
  std::string_view prefix;
  std::string_view what;
};

// Formats people upload by mistake, named so the admin knows what to do about it.
constexpr std::array kMagics = {
    Magic{"\x7F"
          "ELF"sv,
          "an executable (ELF)"},
    Magic{"MZ"sv, "a Windows executable"},
    Magic{"\xCF\xFA\xED\xFE"sv, "an executable (Mach-O)"},
    Magic{"\xCE\xFA\xED\xFE"sv, "an executable (Mach-O)"},
    Magic{"\xFE\xED\xFA\xCF"sv, "an executable (Mach-O)"},
    Magic{"\xFE\xED\xFA\xCE"sv, "an executable (Mach-O)"},
    Magic{"\xCA\xFE\xBA\xBE"sv, "an executable (Mach-O) or Java class"},
    Magic{"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"sv,
          "a legacy Office file (.doc) or a password-protected Office file: save it as an unprotected DOCX "
          "or PDF"},
    Magic{"\x89PNG"sv, "a PNG image"},
    Magic{"\xFF\xD8\xFF"sv, "a JPEG image"},
    Magic{"GIF8"sv, "a GIF image"},
    Magic{"II*\0"sv, "a TIFF image"},
    Magic{"MM\0*"sv, "a TIFF image"},
    Magic{"RIFF"sv, "a RIFF file (audio, video or WebP image)"},
    Magic{"\x1F\x8B"sv, "a gzip archive"},
    Magic{"Rar!"sv, "a RAR archive"},
    Magic{"7z\xBC\xAF\x27\x1C"sv, "a 7-Zip archive"},
    Magic{"\xFF\xFE"sv, "UTF-16 text: save it as UTF-8"},
    Magic{"\xFE\xFF"sv, "UTF-16 text: save it as UTF-8"},
};

bool has(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Whether a local file header (they precede each entry's data) names `name`: how a truncated archive,
// which has lost its central directory, still shows what it was.
bool has_local_entry(std::string_view bytes, std::string_view name) {
  constexpr std::size_t kLocalHeaderSize = 30;
  for (std::size_t pos = 0; (pos = bytes.find("PK\x03\x04", pos)) != std::string_view::npos; pos += 4) {
    if (bytes.size() - pos < kLocalHeaderSize + name.size()) break;
    const std::size_t name_len = static_cast<unsigned char>(bytes[pos + 26]) |
                                 (static_cast<std::size_t>(static_cast<unsigned char>(bytes[pos + 27])) << 8);
    if (name_len == name.size() && bytes.substr(pos + kLocalHeaderSize, name_len) == name) return true;
  }
  return false;
}

ExtractResult<DocumentType> sniff_zip(std::string_view bytes) {
  const auto dir = detail::read_zip_directory(bytes);
  if (!dir) {
    // A DOCX cut short or damaged is still a DOCX: extraction fails it with "the DOCX archive is
    // damaged", which tells the admin more than "not a supported type".
    if (has_local_entry(bytes, "word/document.xml")) return DocumentType::docx;
    return unsupported("a damaged or truncated zip archive");
  }
  if (has(dir->names, "word/document.xml")) return DocumentType::docx;
  if (has(dir->names, "xl/workbook.xml")) return unsupported("a spreadsheet (XLSX): save it as PDF");
  if (has(dir->names, "ppt/presentation.xml")) return unsupported("a presentation (PPTX): save it as PDF");
  if (has(dir->names, "mimetype") && has(dir->names, "content.xml")) {
    return unsupported("an OpenDocument file: save it as DOCX or PDF");
  }
  return unsupported("a zip archive");
}

}  // namespace

std::string_view to_string(DocumentType type) noexcept {
  switch (type) {
    case DocumentType::pdf:
      return "pdf";
    case DocumentType::docx:
      return "docx";
    case DocumentType::txt:
      return "txt";
  }
  return "unknown";
}

std::string_view media_type(DocumentType type) noexcept {
  switch (type) {
    case DocumentType::pdf:
      return "application/pdf";
    case DocumentType::docx:
      return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    case DocumentType::txt:
      return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}

ExtractResult<DocumentType> sniff_document_type(std::string_view bytes) {
  if (bytes.empty()) return ExtractError{Errc::unprocessable, "the file is empty"};
  if (bytes.starts_with("%PDF-")) return DocumentType::pdf;
  if (bytes.starts_with("PK\x03\x04") || bytes.starts_with("PK\x05\x06")) return sniff_zip(bytes);
  // RTF is 7-bit text, but its markup would drown the content.
  if (bytes.starts_with("{\\rtf")) return unsupported("an RTF document: save it as DOCX or PDF");
  // A magic number made of printable ASCII ("MZ", "GIF8") may also start a genuine text ("MZ Consultoria"):
  // those only name the format once the bytes turned out not to be text.
  const auto printable = [](std::string_view p) {
    return std::all_of(p.begin(), p.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
  };
  for (const Magic& m : kMagics) {
    if (!printable(m.prefix) && bytes.starts_with(m.prefix)) return unsupported(m.what);
  }
  if (detail::detect_text_encoding(bytes)) return DocumentType::txt;
  for (const Magic& m : kMagics) {
    if (printable(m.prefix) && bytes.starts_with(m.prefix)) return unsupported(m.what);
  }
  return unsupported("binary data");
}

}  // namespace ivr::knowledge
