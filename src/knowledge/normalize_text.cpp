#include "ivr/knowledge/normalize_text.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "utf8.hpp"

namespace ivr::knowledge {
namespace {

constexpr char32_t kSoftHyphen = 0x00AD;
constexpr std::size_t kEdgeLines = 3;          // lines at the top and at the bottom of a page looked at
constexpr std::size_t kMinPages = 3;           // fewer pages: nothing "repeats on most pages"
constexpr double kRepeatedShare = 0.6;         // share of the pages a header/footer line must be on
constexpr std::size_t kMaxHeaderLength = 200;  // longer lines are body text, not running heads

bool is_unicode_space(char32_t c) {
  return c == 0x00A0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Removed outright: controls, zero-width characters, BOMs, noncharacters.
bool is_removed(char32_t c) {
  return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || (c >= 0x200B && c <= 0x200D) || c == 0x2060 ||
         c == 0xFEFF || c == 0xFFFE || c == 0xFFFF;
}

bool is_letter(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x370 && c <= 0x3FF) ||
         (c >= 0x400 && c <= 0x4FF);
}

// Lower-case letters of ASCII and Latin-1 plus the rest of the Latin, Greek and Cyrillic ranges where
// case alternates or is in a lower-case block. Enough to tell "infor-\nmação" (joined) from "Rio-\nBrasil"
// (kept).
bool is_lower_letter(char32_t c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 0xDF && c <= 0xFF) return c != 0xF7;
  if (c >= 0x100 && c <= 0x17F) return c % 2 == 1;  // Latin Extended-A mostly pairs upper/lower
  if (c >= 0x3B1 && c <= 0x3C9) return true;        // Greek small
  if (c >= 0x430 && c <= 0x45F) return true;        // Cyrillic small
  return false;
}

bool is_hyphen(char32_t c) {
  return c == '-' || c == 0x2010;
}

// Line ends unified, characters mapped or removed.
std::u32string map_characters(std::u32string_view in) {
  std::u32string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char32_t c = in[i];
    if (c == '\r') {
      out += '\n';
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == '\n' || c == '\v' || c == 0x2028) {
      out += '\n';
    } else if (c == '\f' || c == 0x2029) {
      out += U"\n\n";
    } else if (c == '\t' || is_unicode_space(c)) {
      out += ' ';
    } else if (c == kSoftHyphen) {
      // Invisible unless a line breaks there: then it is the hyphen the reader saw.
      std::size_t j = i + 1;
      while (j < in.size() && (in[j] == ' ' || in[j] == '\t' || is_unicode_space(in[j]))) ++j;
      if (j < in.size() && (in[j] == '\n' || in[j] == '\r' || in[j] == '\v' || in[j] == 0x2028)) out += '-';
    } else if (!is_removed(c)) {
      out += c;
    }
  }
  return out;
}

// "infor-\nmação" → "informação".
std::u32string dehyphenate(std::u32string_view in) {
  std::u32string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char32_t c = in[i];
    if (!is_hyphen(c)) {
      out += c;
      continue;
    }
    // Look past spaces, exactly one line break, spaces: a blank line is a paragraph end, not a wrap.
    std::size_t j = i + 1;
    while (j < in.size() && in[j] == ' ') ++j;
    bool joined = false;
    if (j < in.size() && in[j] == '\n' && !out.empty() && is_letter(out.back())) {
      std::size_t k = j + 1;
      while (k < in.size() && in[k] == ' ') ++k;
      if (k < in.size() && is_lower_letter(in[k])) {
        i = k - 1;  // continue with the letter that starts the next line
        joined = true;
      }
    }
    if (!joined) out += c;
  }
  return out;
}

// Spaces collapsed, lines trimmed, blank-line runs made one paragraph break.
std::u32string collapse_whitespace(std::u32string_view in) {
  std::u32string out;
  out.reserve(in.size());
  std::size_t pending_newlines = 0;
  bool pending_space = false;
  for (char32_t c : in) {
    if (c == '\n') {
      ++pending_newlines;
      pending_space = false;
    } else if (c == ' ') {
      pending_space = true;
    } else {
      if (!out.empty()) {
        if (pending_newlines >= 2) {
          out += U"\n\n";
        } else if (pending_newlines == 1) {
          out += '\n';
        } else if (pending_space) {
          out += ' ';
        }
      }
      pending_newlines = 0;
      pending_space = false;
      out += c;
    }
  }
  return out;
}

// ---- running headers and footers ----

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

bool is_space_byte(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// The comparison key: trimmed, inner whitespace collapsed, digit runs as '#'. Empty for a blank line.
std::string line_key(std::string_view line) {
  std::string key;
  bool space = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (is_space_byte(c)) {
      space = !key.empty();
      continue;
    }
    if (space) key += ' ';
    space = false;
    if (c >= '0' && c <= '9') {
      while (i + 1 < line.size() && line[i + 1] >= '0' && line[i + 1] <= '9') ++i;
      key += '#';
    } else {
      key += c;
    }
  }
  return key;
}

// The first and last kEdgeLines non-blank lines with their position: 0, 1, 2 from the top, -1, -2, -3
// from the bottom (a line that is both, on a short page, is taken from the top).
std::vector<std::pair<std::size_t, int>> edge_lines(const std::vector<std::string_view>& lines) {
  std::vector<std::size_t> non_blank;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!line_key(lines[i]).empty()) non_blank.push_back(i);
  }
  std::vector<std::pair<std::size_t, int>> edges;
  const std::size_t n = non_blank.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i < kEdgeLines) {
      edges.emplace_back(non_blank[i], static_cast<int>(i));
    } else if (i + kEdgeLines >= n) {
      edges.emplace_back(non_blank[i], -static_cast<int>(n - i));
    }
  }
  return edges;
}

// A running header or footer sits at the same place on every page: the position is part of the key, so
// body lines that happen to repeat (a boilerplate paragraph wrapped the same way) rarely qualify.
std::string position_key(std::string_view line, int position) {
  return std::to_string(position) + '\x1F' + line_key(line);
}

}  // namespace

std::string normalize_text(std::string_view text) {
  const std::u32string mapped = map_characters(detail::decode_all(text));
  return detail::encode_all(collapse_whitespace(dehyphenate(mapped)));
}

void remove_repeated_page_lines(std::vector<Section>& sections) {
  std::set<int> pages;
  for (const Section& s : sections) {
    if (s.page > 0) pages.insert(s.page);
  }
  if (pages.size() < kMinPages) return;

  // On how many pages each key appears at an edge (once per page).
  std::map<std::string, std::set<int>> seen;
  for (const Section& s : sections) {
    if (s.page <= 0) continue;
    const auto lines = split_lines(s.text);
    for (const auto& [i, position] : edge_lines(lines)) {
      if (lines[i].size() <= kMaxHeaderLength) seen[position_key(lines[i], position)].insert(s.page);
    }
  }
  std::set<std::string> repeated;
  const double needed = kRepeatedShare * static_cast<double>(pages.size());
  for (const auto& [key, on_pages] : seen) {
    if (static_cast<double>(on_pages.size()) >= needed) repeated.insert(key);
  }
  if (repeated.empty()) return;

  for (Section& s : sections) {
    if (s.page <= 0) continue;
    const auto lines = split_lines(s.text);
    std::vector<bool> drop(lines.size(), false);
    for (const auto& [i, position] : edge_lines(lines)) {
      drop[i] = lines[i].size() <= kMaxHeaderLength && repeated.contains(position_key(lines[i], position));
    }
    std::string out;
    bool first = true;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (drop[i]) continue;
      if (!first) out += '\n';
      out += lines[i];
      first = false;
    }
    s.text = std::move(out);
  }
}

std::vector<Section> normalize_sections(std::vector<Section> sections) {
  remove_repeated_page_lines(sections);
  std::vector<Section> out;
  out.reserve(sections.size());
  for (Section& s : sections) {
    s.text = normalize_text(s.text);
    if (!s.text.empty()) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ivr::knowledge
