#pragma once
// Cleaning extracted text before chunking. Pure functions, no locale dependence.

#include <string>
#include <string_view>
#include <vector>

#include "ivr/knowledge/section.hpp"

namespace ivr::knowledge {

// Returns valid UTF-8 where:
//  - line ends are "\n" (\r\n, \r, \v, U+2028 become "\n"; \f and U+2029 a paragraph break);
//  - words hyphenated at a line end are joined: a letter, "-" (or U+2010, or a soft hyphen, which is
//    what the reader saw at a line end), optional spaces, one line break, then a lower-case letter →
//    "infor-\nmação" becomes "informação". A compound word that happens to break at its own hyphen
//    ("guarda-\nchuva") is joined too: the text cannot tell them apart, and a search loses less from
//    "guardachuva" than from every split word;
//  - NUL and other control characters (C0 but \n, DEL, C1), zero-width characters, BOMs and soft
//    hyphens elsewhere are removed; invalid UTF-8 bytes become U+FFFD;
//  - tabs and Unicode spaces (no-break, thin, ideographic…) become a space; runs of spaces collapse to
//    one; lines are trimmed;
//  - blank lines are paragraph breaks: any run of them becomes exactly one "\n\n"; single line breaks
//    are kept (lists and table rows stay one per line);
//  - no leading or trailing whitespace.
// Idempotent: normalize_text(normalize_text(x)) == normalize_text(x).
std::string normalize_text(std::string_view text);

// Running headers and footers: among the sections that have a page (page > 0), a line that appears in
// the first or last 3 non-blank lines of at least 60% of the pages — counting only documents of 3 pages
// or more — is removed from those positions on every page. Lines are compared trimmed, with inner
// whitespace collapsed and every run of digits treated as equal, so "Página 3 de 10" matches
// "Página 4 de 10" and a bare page number matches any other. Lines inside the body are never touched.
void remove_repeated_page_lines(std::vector<Section>& sections);

// remove_repeated_page_lines(), then normalize_text() on every section; sections left empty are dropped.
std::vector<Section> normalize_sections(std::vector<Section> sections);

}  // namespace ivr::knowledge
