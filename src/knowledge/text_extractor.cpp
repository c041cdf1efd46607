// Plain text: UTF-8 or Latin-1/Windows-1252.

#include <string>

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include "extract_common.hpp"
#include "ivr/knowledge/extractors.hpp"
#include "text_encoding.hpp"

namespace ivr::knowledge {

ExtractResult<std::vector<Section>> extract_text(std::string_view bytes, const ExtractLimits& limits) {
  const auto encoding = detail::detect_text_encoding(bytes);
  if (!encoding) return ExtractError{Errc::unsupported_media_type, "the file is not a text file"};
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  if (bytes.ends_with('\x1A')) bytes.remove_suffix(1);  // DOS end-of-file mark
  std::string text =
      *encoding == detail::TextEncoding::utf8 ? std::string(bytes) : detail::windows1252_to_utf8(bytes);
  if (text.size() > limits.max_text_bytes) return detail::too_much_text(limits);
  if (text.find_first_not_of(" \t\n\v\f\r") == std::string::npos) return detail::no_text();
  std::vector<Section> sections;
  sections.push_back(Section{std::move(text), 0, {}});
  return sections;
}

ExtractResult<std::vector<Section>> extract_document(std::string_view bytes, const ExtractLimits& limits) {
  const auto type = sniff_document_type(bytes);
  if (!type) return type.error();
  switch (*type) {
    case DocumentType::pdf:
      return extract_pdf(bytes, limits);
    case DocumentType::docx:
      return extract_docx(bytes, limits);
    case DocumentType::txt:
      return extract_text(bytes, limits);
  }
  return ExtractError{Errc::unsupported_media_type, "the file is not a PDF, DOCX or text file"};
}

void throw_exception_from_error(const ExtractError& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(make_error_code(e.code), e.reason), loc);
}

}  // namespace ivr::knowledge
