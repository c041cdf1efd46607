#include "text_encoding.hpp"

#include <array>

#include "utf8.hpp"

namespace ivr::knowledge::detail {
namespace {

// Windows-1252 0x80..0x9F; 0 marks the five undefined bytes.
constexpr std::array<char16_t, 32> kCp1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

// Control bytes allowed in text: \t \n \v \f \r. A final ^Z (DOS end-of-file mark) is tolerated by the
// callers.
bool allowed_control(unsigned char c) noexcept {
  return c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_control(unsigned char c) noexcept {
  return (c < 0x20 && !allowed_control(c)) || c == 0x7F;
}

}  // namespace

std::optional<TextEncoding> detect_text_encoding(std::string_view bytes) noexcept {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  if (!bytes.empty() && bytes.back() == '\x1A') bytes.remove_suffix(1);
  bool utf8 = true;
  bool latin = true;
  for (std::size_t pos = 0; pos < bytes.size(); ++pos) {
    const auto c = static_cast<unsigned char>(bytes[pos]);
    if (is_control(c)) return std::nullopt;  // a control byte is one in every candidate encoding
    if (c >= 0x80 && c < 0xA0 && kCp1252High[c - 0x80] == 0) latin = false;
  }
  for (std::size_t pos = 0; pos < bytes.size() && utf8;) {
    const Decoded d = decode_utf8(bytes, pos);
    utf8 = d.valid;
    pos += d.length;
  }
  if (utf8) return TextEncoding::utf8;
  if (latin) return TextEncoding::windows1252;
  return std::nullopt;
}

std::string windows1252_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    char32_t cp = c;
    if (c >= 0x80 && c < 0xA0 && kCp1252High[c - 0x80] != 0) cp = kCp1252High[c - 0x80];
    append_utf8(out, cp);
  }
  return out;
}

}  // namespace ivr::knowledge::detail
