#pragma once
// Pieces shared by the extractors (internal).

#include <cstddef>
#include <string>

#include "ivr/knowledge/extract_error.hpp"
#include "ivr/knowledge/extractors.hpp"

namespace ivr::knowledge::detail {

// "20 MB", "512 KB", "100 bytes" (binary units, rounded down).
inline std::string human_size(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 20)) return std::to_string(bytes >> 20) + " MB";
  if (bytes >= (std::size_t{1} << 10)) return std::to_string(bytes >> 10) + " KB";
  return std::to_string(bytes) + " bytes";
}

// "the document has more than N MB of text".
inline ExtractError too_much_text(const ExtractLimits& limits) {
  return {Errc::unprocessable,
          "the document has more than " + human_size(limits.max_text_bytes) + " of text"};
}

inline ExtractError no_text() {
  return {Errc::unprocessable, "the document has no text"};
}

}  // namespace ivr::knowledge::detail
