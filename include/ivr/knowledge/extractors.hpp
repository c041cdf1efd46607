#pragma once
// Text extraction from the bytes of an uploaded document, one function per type (src/knowledge/
// *_extractor.cpp). Sans-I/O: bytes in, sections out; nothing is written anywhere.
//
// Blocking: poppler, libzip and pugixml are CPU-heavy on large documents; call these through
// offload() on the worker pool, never on the io thread. Thread safety: each call is independent and
// may run concurrently with others.
//
// Errors: ExtractError with a human reason (see extract_error.hpp); the code is `unprocessable` for a
// document of the right type that cannot be used (encrypted, damaged, over a limit, no text) and
// `unsupported_media_type` when the bytes are not of the type at all. The returned text is raw: run
// normalize_sections() (normalize_text.hpp) before chunking.

#include <cstddef>
#include <string_view>
#include <vector>

#include "ivr/knowledge/document_type.hpp"
#include "ivr/knowledge/extract_error.hpp"
#include "ivr/knowledge/section.hpp"

namespace ivr::knowledge {

struct ExtractLimits {
  // PDF: more pages than this is refused before any text is extracted.
  int max_pages = 2000;
  // DOCX: archives listing more entries than this are refused (before libzip reads the directory).
  std::size_t max_zip_entries = 2000;
  // DOCX: total uncompressed bytes read from the archive's XML parts (document, styles, headers,
  // footers). A part whose declared size exceeds what is left is refused at once, and reading stops at
  // the cap whatever the archive declares (zip bombs lie about sizes).
  std::size_t max_uncompressed_bytes = 50u << 20;
  // All formats: more extracted text than this (UTF-8 bytes) is refused.
  std::size_t max_text_bytes = 32u << 20;
  // DOCX: add the page headers and footers (each distinct text once, after the body).
  bool docx_headers_footers = true;
};

// One section per page that has text (page = 1-based page number, no heading), in page order. Text in
// reading order (poppler's non-raw, non-physical layout, as pdftotext prints it).
// Reasons: "the PDF is encrypted" (a password is needed to open it; PDFs that only restrict printing or
// copying open without one and are extracted), "the PDF has no text layer (scanned images?)", "the PDF
// is damaged", "the PDF has N pages; the limit is M", "the document has more than N MB of text".
ExtractResult<std::vector<Section>> extract_pdf(std::string_view bytes, const ExtractLimits& limits = {});

// Body paragraphs in document order (text boxes and content controls included, deleted revisions and
// field codes not), tables as one line per row with cells joined by " | ". A paragraph styled Title or
// Heading n (style id, or the style's built-in name in word/styles.xml, which Word writes in English
// whatever the UI language: "Ttulo1" → "heading 1") or with an outline level starts a new section named
// by its text; the heading text is also the section's first paragraph. Headers/footers: see limits.
// Reasons: "the DOCX archive is damaged", "the DOCX archive has too many entries (N; the limit is M)",
// "the DOCX is too large once uncompressed (more than N MB; a zip bomb?)", "the DOCX has no
// word/document.xml", "the DOCX is password-protected", "the DOCX document.xml is not valid XML",
// "the document has no text", "the document has more than N MB of text".
ExtractResult<std::vector<Section>> extract_docx(std::string_view bytes, const ExtractLimits& limits = {});

// The whole text as one section: UTF-8 without its BOM, or Latin-1/Windows-1252 converted to UTF-8
// (detection as in sniff_document_type). Reasons: "the file is not a text file", "the document has no
// text", "the document has more than N MB of text".
ExtractResult<std::vector<Section>> extract_text(std::string_view bytes, const ExtractLimits& limits = {});

// sniff_document_type() then the matching extractor.
ExtractResult<std::vector<Section>> extract_document(std::string_view bytes,
                                                     const ExtractLimits& limits = {});

}  // namespace ivr::knowledge
