// PDF text with poppler-cpp, one section per page.

#include <climits>
#include <memory>
#include <mutex>
#include <string>

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include "extract_common.hpp"
#include "ivr/knowledge/extractors.hpp"

namespace ivr::knowledge {
namespace {

void ignore_poppler_message(const std::string&, void*) {}

// poppler prints every syntax error of a damaged file to stderr; the reason we return says enough.
void silence_poppler() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function(ignore_poppler_message, nullptr); });
}

ExtractError pdf_error(std::string reason) {
  return {Errc::unprocessable, std::move(reason)};
}

bool has_visible_text(std::string_view s) {
  for (char c : s) {
    if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')) return true;
  }
  return false;
}

}  // namespace

ExtractResult<std::vector<Section>> extract_pdf(std::string_view bytes, const ExtractLimits& limits) {
  if (!bytes.starts_with("%PDF-")) return ExtractError{Errc::unsupported_media_type, "the file is not a PDF"};
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) return pdf_error("the PDF is too large");
  silence_poppler();
  try {
    // load_from_raw_data does not copy: `bytes` outlives `doc`.
    std::unique_ptr<poppler::document> doc(
        poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
    if (!doc) return pdf_error("the PDF is damaged");
    // Locked: a user password is needed. A PDF encrypted with only an owner password (restrictions on
    // printing or copying) opens without one and its text is used.
    if (doc->is_locked()) return pdf_error("the PDF is encrypted");
    const int pages = doc->pages();
    if (pages <= 0) return pdf_error("the PDF is damaged");
    if (pages > limits.max_pages) {
      return pdf_error("the PDF has " + std::to_string(pages) + " pages; the limit is " +
                       std::to_string(limits.max_pages));
    }
    std::vector<Section> sections;
    std::size_t total = 0;
    for (int i = 0; i < pages; ++i) {
      std::unique_ptr<poppler::page> page(doc->create_page(i));
      if (!page) continue;  // a broken page object: keep the others
      const poppler::byte_array utf8 =
          page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout).to_utf8();
      std::string text(utf8.begin(), utf8.end());
      if (!has_visible_text(text)) continue;
      total += text.size();
      if (total > limits.max_text_bytes) return detail::too_much_text(limits);
      sections.push_back(Section{std::move(text), i + 1, {}});
    }
    if (sections.empty()) return pdf_error("the PDF has no text layer (scanned images?)");
    return sections;
  } catch (const std::exception&) {
    // poppler-cpp reports failures by return values; this is for allocation failures on hostile input.
    return pdf_error("the PDF is damaged");
  }
}

}  // namespace ivr::knowledge
