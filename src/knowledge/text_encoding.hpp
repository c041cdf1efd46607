#pragma once
// Encoding detection for plain-text uploads (internal; see sniff_document_type for the rules).

#include <optional>
#include <string>
#include <string_view>

namespace ivr::knowledge::detail {

enum class TextEncoding { utf8, windows1252 };

// utf8 for valid UTF-8 (an optional BOM included), windows1252 for other bytes that read as Latin-1 /
// Windows-1252 text, nullopt when control bytes (or UTF-16 NULs) say it is not text. Empty input → utf8.
std::optional<TextEncoding> detect_text_encoding(std::string_view bytes) noexcept;

// Windows-1252 (a superset of Latin-1's printable range) to UTF-8. The five bytes 1252 leaves
// undefined map to the C1 code points Latin-1 gives them.
std::string windows1252_to_utf8(std::string_view bytes);

}  // namespace ivr::knowledge::detail
