#pragma once
// A piece of a document's text with where it came from: what extractors return, normalisation keeps and
// the chunker consumes.

#include <string>

namespace ivr::knowledge {

struct Section {
  std::string text;     // UTF-8; paragraphs separated by a blank line ("\n\n"), lines by "\n"
  int page = 0;         // PDF page (1-based); 0 when the format has no pages (DOCX, TXT)
  std::string heading;  // DOCX heading (Title/Heading n) the text sits under; empty when none

  friend bool operator==(const Section&, const Section&) = default;
};

}  // namespace ivr::knowledge
