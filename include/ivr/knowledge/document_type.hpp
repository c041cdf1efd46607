#pragma once
// What kind of document an upload is, judged from its bytes only (magic numbers and structure), never
// from the file name or the client's Content-Type. Sans-I/O and pure.

#include <string_view>

#include "ivr/knowledge/extract_error.hpp"

namespace ivr::knowledge {

enum class DocumentType { pdf, docx, txt };

// "pdf", "docx", "txt": the value stored with a document.
std::string_view to_string(DocumentType type) noexcept;
// "application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
// "text/plain; charset=utf-8".
std::string_view media_type(DocumentType type) noexcept;

// The type of `bytes`:
//  - pdf:  starts with "%PDF-";
//  - docx: a zip archive (local header "PK\3\4") whose central directory (zip64 included) lists
//          "word/document.xml" — or, when the directory is missing or damaged (a truncated upload),
//          whose local headers name it: extraction then fails it as damaged;
//  - txt:  valid UTF-8 (optional BOM) or Latin-1/Windows-1252, with no control bytes other than
//          \t \n \v \f \r and one trailing ^Z (DOS end of file). \v is Word's exported line break.
//          Latin-1 bytes 0x80..0x9F are read as Windows-1252 (what "Latin-1" files saved on Windows
//          are); its five undefined bytes count as control bytes.
// Errors (the reason names what the file seems to be, so the admin knows what to do):
//  - unprocessable: the file is empty;
//  - unsupported_media_type: anything else — executables (ELF, PE, Mach-O), images, archives, other
//    Office/OpenDocument formats, legacy .doc and password-protected Office files, RTF, UTF-16 text,
//    a damaged zip, binary data.
// Cost: one pass over the bytes (UTF-8 validation); the zip directory is read without decompressing.
ExtractResult<DocumentType> sniff_document_type(std::string_view bytes);

}  // namespace ivr::knowledge
