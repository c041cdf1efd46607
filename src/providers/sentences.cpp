#include "ivr/providers/sentences.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

namespace ivr::providers {
namespace {

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026
constexpr std::string_view kNbsp = "\xC2\xA0";          // U+00A0

// Lower-case, without the dot. Portuguese, Spanish and English forms a secretary is likely to say.
constexpr std::string_view kAbbreviations[] = {
    "dr",    "dra",  "drs",  "dras",   "sr",  "sra", "srs", "sras", "srta", "sres", "prof",
    "profa", "eng",  "enga", "adv",    "arq", "etc", "av",  "ave",  "tel",  "tels", "cel",
    "ltda",  "cia",  "pág",  "pag",    "pp",  "vol", "cap", "art",  "ex",   "exma", "obs",
    "aprox", "mín",  "máx",  "núm",    "num", "nº",  "mr",  "mrs",  "ms",   "jr",   "st",
    "vs",    "dept", "inc",  "approx", "ud",  "uds", "lic", "ing",  "sto",  "sta",  "fig"};

bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Length in bytes of the UTF-8 sequence at s[i]; 1 for an invalid or truncated one (passed through).
std::size_t sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  }
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

std::string_view trim(std::string_view s) noexcept {
  for (;;) {
    if (!s.empty() && is_ascii_space(s.front())) {
      s.remove_prefix(1);
    } else if (s.starts_with(kNbsp)) {
      s.remove_prefix(kNbsp.size());
    } else {
      break;
    }
  }
  for (;;) {
    if (!s.empty() && is_ascii_space(s.back())) {
      s.remove_suffix(1);
    } else if (s.ends_with(kNbsp)) {
      s.remove_suffix(kNbsp.size());
    } else {
      break;
    }
  }
  return s;
}

bool is_terminator_at(std::string_view s, std::size_t i, std::size_t& len) noexcept {
  const char c = s[i];
  if (c == '.' || c == '!' || c == '?') {
    len = 1;
    return true;
  }
  if (s.substr(i, kEllipsis.size()) == kEllipsis) {
    len = kEllipsis.size();
    return true;
  }
  return false;
}

// Closing quotes and brackets that belong to the sentence they follow: " ' ) ] » ” ’
bool is_closer_at(std::string_view s, std::size_t i, std::size_t& len) noexcept {
  const char c = s[i];
  if (c == '"' || c == '\'' || c == ')' || c == ']') {
    len = 1;
    return true;
  }
  for (std::string_view closer :
       {std::string_view("\xC2\xBB"), std::string_view("\xE2\x80\x9D"), std::string_view("\xE2\x80\x99")}) {
    if (s.substr(i, closer.size()) == closer) {
      len = closer.size();
      return true;
    }
  }
  return false;
}

bool is_lower_start(std::string_view s) noexcept {
  if (s.empty()) return false;
  const auto c = static_cast<unsigned char>(s[0]);
  if (c >= 'a' && c <= 'z') return true;
  // Latin-1 supplement lower case (à..ÿ, ß) is C3 9F..C3 BF, except ÷ (C3 B7).
  if (c == 0xC3 && s.size() > 1) {
    const auto d = static_cast<unsigned char>(s[1]);
    return d >= 0x9F && d <= 0xBF && d != 0xB7;
  }
  return false;
}

bool is_ascii_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_ascii_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Whether a lone '.' (or a run of dots / an ellipsis) at [dot, run_end) ends the sentence that began at
// `start`, given that whitespace or the end follows at `after`.
bool dot_ends_sentence(std::string_view text, std::size_t start, std::size_t dot, std::size_t run_end,
                       std::size_t after) {
  // The next word starting in lower case continues the sentence ("Bem... vamos", "o Dr. fulano").
  const std::string_view rest = trim(text.substr(after));
  if (is_lower_start(rest)) return false;

  const bool single_dot = run_end == dot + 1 && text[dot] == '.';
  if (!single_dot) return true;  // "..." or "…" before an upper-case word or the end

  // The word before the dot, without opening punctuation.
  std::size_t word_begin = dot;
  while (word_begin > start && !is_ascii_space(text[word_begin - 1])) --word_begin;
  std::string_view word = text.substr(word_begin, dot - word_begin);
  while (!word.empty() &&
         (word.front() == '(' || word.front() == '"' || word.front() == '\'' || word.front() == '[')) {
    word.remove_prefix(1);
  }
  if (word.empty()) return true;

  // A single capital is an initial ("J. Silva"). Lower-case single letters are words ("e", "a", "y").
  if (word.size() == 1 && word[0] >= 'A' && word[0] <= 'Z') return false;

  // A list number at the start of a line: "1. Ligue".
  if (std::all_of(word.begin(), word.end(), is_ascii_digit) &&
      trim(text.substr(start, word_begin - start)).empty()) {
    return false;
  }

  const std::string lower = ascii_lower(word);
  if (std::find(std::begin(kAbbreviations), std::end(kAbbreviations), lower) != std::end(kAbbreviations)) {
    return false;
  }

  // Dotted abbreviations made of short letter groups: "e.g", "i.e", "p.ex", "a.m" (not "3.5", not a URL).
  if (lower.find('.') != std::string::npos) {
    bool short_parts = true;
    std::size_t part_begin = 0;
    while (part_begin <= lower.size()) {
      std::size_t part_end = lower.find('.', part_begin);
      if (part_end == std::string::npos) part_end = lower.size();
      const std::string_view part = std::string_view(lower).substr(part_begin, part_end - part_begin);
      if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), is_ascii_alpha)) {
        short_parts = false;
      }
      part_begin = part_end + 1;
    }
    if (short_parts) return false;
  }
  return true;
}

// Sentences as views into `text`, untrimmed, possibly blank.
std::vector<std::string_view> raw_sentences(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\n') {
      out.push_back(text.substr(start, i - start));
      start = ++i;
      continue;
    }
    std::size_t len = 0;
    if (!is_terminator_at(text, i, len)) {
      i += sequence_length(text, i);
      continue;
    }
    std::size_t run_end = i;
    bool strong = false;  // ! or ? in the run
    while (run_end < text.size() && is_terminator_at(text, run_end, len)) {
      strong = strong || text[run_end] == '!' || text[run_end] == '?';
      run_end += len;
    }
    std::size_t after = run_end;
    while (after < text.size() && is_closer_at(text, after, len)) after += len;
    const bool boundary_follows =
        after == text.size() || is_ascii_space(text[after]) || text.substr(after).starts_with(kNbsp);
    if (boundary_follows && (strong || dot_ends_sentence(text, start, i, run_end, after))) {
      out.push_back(text.substr(start, after - start));
      start = after;
    }
    i = after;
  }
  out.push_back(text.substr(start));
  return out;
}

// Byte offset just after the first `n` code points of `s` (s.size() when it has fewer).
std::size_t offset_after_chars(std::string_view s, std::size_t n) noexcept {
  std::size_t i = 0;
  for (std::size_t count = 0; count < n && i < s.size(); ++count) i += sequence_length(s, i);
  return i;
}

void push_piece(std::string_view piece, std::vector<std::string>& out) {
  piece = trim(piece);
  if (!piece.empty()) out.emplace_back(piece);
}

// Cuts `s` (trimmed, longer than max) at the last whitespace that keeps a piece within max characters.
void hard_wrap(std::string_view s, std::size_t max, std::vector<std::string>& out) {
  s = trim(s);
  while (utf8_length(s) > max) {
    const std::size_t limit = offset_after_chars(s, max);  // s[limit] starts character max+1
    std::size_t cut = limit;
    while (cut > 0 && !is_ascii_space(s[cut])) --cut;
    if (cut == 0) cut = limit;  // one word longer than max: cut at a character boundary
    push_piece(s.substr(0, cut), out);
    s = trim(s.substr(cut));
  }
  push_piece(s, out);
}

// Splits `s` after any of `delimiters` followed by whitespace and packs the clauses greedily; clauses still
// too long go to the next tier (commas, then hard wrapping).
void split_long(std::string_view s, std::size_t max, int tier, std::vector<std::string>& out) {
  s = trim(s);
  if (utf8_length(s) <= max) {
    push_piece(s, out);
    return;
  }
  if (tier >= 2) {
    hard_wrap(s, max, out);
    return;
  }
  const std::string_view delimiters = tier == 0 ? ";:" : ",";
  std::vector<std::string_view> clauses;
  std::size_t begin = 0;
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (delimiters.find(s[i]) != std::string_view::npos && is_ascii_space(s[i + 1])) {
      clauses.push_back(s.substr(begin, i + 1 - begin));
      begin = i + 1;
    }
  }
  clauses.push_back(s.substr(begin));
  if (clauses.size() == 1) {
    split_long(s, max, tier + 1, out);
    return;
  }

  // Clauses are contiguous views of `s`, so a packed run is one view from its first clause to its last.
  const char* run_begin = clauses.front().data();
  const char* run_end = run_begin + clauses.front().size();
  auto flush = [&] {
    const std::string_view run(run_begin, static_cast<std::size_t>(run_end - run_begin));
    split_long(run, max, tier + 1, out);
  };
  for (std::size_t k = 1; k < clauses.size(); ++k) {
    const char* extended_end = clauses[k].data() + clauses[k].size();
    const std::string_view extended(run_begin, static_cast<std::size_t>(extended_end - run_begin));
    if (utf8_length(trim(extended)) <= max) {
      run_end = extended_end;
    } else {
      flush();
      run_begin = clauses[k].data();
      run_end = extended_end;
    }
  }
  flush();
}

}  // namespace

std::size_t utf8_length(std::string_view text) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); i += sequence_length(text, i)) ++count;
  return count;
}

std::vector<std::string> split_sentences(std::string_view text, std::size_t max_chars) {
  const std::size_t max = std::max<std::size_t>(max_chars, 1);
  std::vector<std::string> out;
  for (std::string_view sentence : raw_sentences(text)) split_long(sentence, max, 0, out);
  return out;
}

}  // namespace ivr::providers
