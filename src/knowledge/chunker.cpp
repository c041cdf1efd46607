#include "ivr/knowledge/chunker.hpp"

#include <array>
#include <cassert>
#include <string_view>

#include "utf8.hpp"

namespace ivr::knowledge {
namespace {

// What lies between an atom (a word, or a piece of a word longer than a chunk) and the one before it,
// weakest to strongest.
enum class Boundary { hard, word, line, sentence, paragraph, section };

struct Atom {
  std::string_view text;
  std::size_t chars = 0;  // code points
  Boundary before = Boundary::word;
  std::string_view separator;  // what joins it to the previous atom in a chunk
  std::size_t section = 0;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view separator_for(Boundary b) {
  switch (b) {
    case Boundary::hard:
      return "";
    case Boundary::word:
      return " ";
    case Boundary::line:
    case Boundary::sentence:
      return "\n";
    case Boundary::paragraph:
    case Boundary::section:
      return "\n\n";
  }
  return " ";
}

bool starts_lower(std::string_view word) {
  if (word.empty()) return false;
  const detail::Decoded d = detail::decode_utf8(word, 0);
  return (d.cp >= 'a' && d.cp <= 'z') || (d.cp >= 0xDF && d.cp <= 0xFF && d.cp != 0xF7);
}

// Lower-cased ASCII; enough for the abbreviation list.
std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Words that end in "." without ending a sentence (Portuguese, English, Spanish), compared lower-cased
// without the dot.
constexpr std::array<std::string_view, 35> kAbbreviations = {
    "dr",  "dra",   "drs",    "sr",  "sra", "srta", "sres", "prof", "profa", "av", "tel", "fig",
    "pág", "pag",   "pp",     "ex",  "mr",  "mrs",  "ms",   "st",   "vs",    "cf", "nº",  "núm",
    "num", "aprox", "approx", "min", "máx", "max",  "obs",  "ref",  "jr",    "ud", "uds",
};

// Whether `word` ends a sentence. `line_start`: the word opens a line (a "1." there is a list marker).
bool ends_sentence(std::string_view word, bool line_start) {
  // Closing quotes and brackets may follow the terminator: `(ver acima.)`, `"Sim!"`, `«fim.»`.
  for (;;) {
    if (word.ends_with(')') || word.ends_with(']') || word.ends_with('"') || word.ends_with('\'')) {
      word.remove_suffix(1);
    } else if (word.ends_with("\u00BB")) {
      word.remove_suffix(2);
    } else if (word.ends_with("\u201D") || word.ends_with("\u2019")) {
      word.remove_suffix(3);
    } else {
      break;
    }
  }
  if (word.ends_with('!') || word.ends_with('?') || word.ends_with("\u2026")) return true;
  if (!word.ends_with('.')) return false;
  word.remove_suffix(1);
  if (word.empty() || word.ends_with('.')) return !word.empty();  // "..." ends, a lone "." does not
  while (!word.empty() && (word.front() == '(' || word.front() == '"' || word.front() == '\''))
    word.remove_prefix(1);
  if (detail::count_code_points(word) == 1) return false;      // an initial: "J. Silva"
  if (word.find('.') != std::string_view::npos) return false;  // "e.g.", "a.m.", "U.S."
  if (line_start && word.find_first_not_of("0123456789") == std::string_view::npos) return false;
  const std::string lower = ascii_lower(word);
  for (std::string_view a : kAbbreviations) {
    if (lower == a) return false;
  }
  return true;
}

class Atoms {
 public:
  Atoms(const std::vector<Section>& sections, std::size_t max_chars) : max_chars_(max_chars) {
    for (std::size_t s = 0; s < sections.size(); ++s) {
      Boundary first = Boundary::paragraph;
      if (s > 0 && sections[s].heading != sections[s - 1].heading) first = Boundary::section;
      add_section(sections[s].text, s, first);
    }
    cumulative_.reserve(atoms_.size() + 1);
    cumulative_.push_back(0);
    for (const Atom& a : atoms_) cumulative_.push_back(cumulative_.back() + a.separator.size() + a.chars);
  }

  std::size_t size() const { return atoms_.size(); }
  const Atom& operator[](std::size_t i) const { return atoms_[i]; }

  // Code points of atoms [i, j) joined, i < j.
  std::size_t chars(std::size_t i, std::size_t j) const {
    return cumulative_[j] - cumulative_[i] - atoms_[i].separator.size();
  }
  std::size_t tokens(std::size_t i, std::size_t j) const { return (chars(i, j) + 3) / 4; }

 private:
  void add_section(std::string_view text, std::size_t section, Boundary first) {
    std::size_t newlines = 0;
    bool first_word = true;
    bool previous_ends_sentence = false;
    std::size_t pos = 0;
    while (pos < text.size()) {
      if (text[pos] == '\n') {
        ++newlines;
        ++pos;
        continue;
      }
      if (is_space(text[pos])) {
        ++pos;
        continue;
      }
      std::size_t end = pos;
      while (end < text.size() && text[end] != '\n' && !is_space(text[end])) ++end;
      const std::string_view word = text.substr(pos, end - pos);
      Boundary structural = newlines >= 2   ? Boundary::paragraph
                            : newlines == 1 ? Boundary::line
                                            : Boundary::word;
      if (first_word) structural = atoms_.empty() ? Boundary::section : first;
      Boundary before = structural;
      if (structural < Boundary::sentence && previous_ends_sentence && !starts_lower(word)) {
        before = Boundary::sentence;
      }
      previous_ends_sentence = ends_sentence(word, structural >= Boundary::line);
      add_word(word, before, separator_for(structural), section);
      first_word = false;
      newlines = 0;
      pos = end;
    }
  }

  // A word longer than a chunk is cut at code point boundaries.
  void add_word(std::string_view word, Boundary before, std::string_view separator, std::size_t section) {
    for (;;) {
      std::size_t bytes = 0;
      std::size_t chars = 0;
      while (bytes < word.size() && chars < max_chars_) {
        ++bytes;
        while (bytes < word.size() && (static_cast<unsigned char>(word[bytes]) & 0xC0) == 0x80) ++bytes;
        ++chars;
      }
      atoms_.push_back(Atom{word.substr(0, bytes), chars, before, separator, section});
      word.remove_prefix(bytes);
      if (word.empty()) return;
      before = Boundary::hard;
      separator = "";
    }
  }

  std::size_t max_chars_;
  std::vector<Atom> atoms_;
  std::vector<std::size_t> cumulative_;  // cumulative_[k]: code points of atoms [0, k) with separators
};

struct BreakRule {
  Boundary at_least;
  double min_fill;  // share of target_tokens the chunk must reach
};

// Strongest kind of boundary first; within a kind, the latest.
constexpr std::array<BreakRule, 6> kBreakRules = {{
    {Boundary::paragraph, 0.5},
    {Boundary::sentence, 0.25},
    {Boundary::line, 0.25},
    {Boundary::line, 0.0},
    {Boundary::word, 0.0},
    {Boundary::hard, 0.0},
}};

// Where the chunk that starts at `i` ends, given that atoms [i, j) fit and atom j does not (j < size), and
// that it must end after `min_end` (the previous chunk's end + 1: a chunk inside the overlap would repeat
// the previous one). i < min_end ≤ j.
std::size_t choose_end(const Atoms& atoms, std::size_t i, std::size_t min_end, std::size_t j,
                       std::size_t target) {
  for (const BreakRule& rule : kBreakRules) {
    const auto min_tokens = static_cast<std::size_t>(rule.min_fill * static_cast<double>(target));
    for (std::size_t k = j; k >= min_end && atoms.tokens(i, k) >= min_tokens; --k) {
      if (atoms[k].before >= rule.at_least) return k;
    }
  }
  return j;  // every boundary is at least hard, so only reached when none after min_end fills enough
}

// Where the chunk after [i, k) starts: the longest tail of [i, k) that fits the overlap, starting at a
// line break or stronger, else at a space; never across a heading change. The tail also leaves room for
// the rest of the sentence atom k is in (so the next chunk can end at its end rather than mid-sentence),
// or at least for atom k when that sentence is longer than a chunk.
std::size_t choose_next_start(const Atoms& atoms, std::size_t i, std::size_t k,
                              const ChunkerOptions& options) {
  if (options.overlap_tokens == 0 || atoms[k].before == Boundary::section) return k;
  std::size_t sentence_end = k + 1;
  while (sentence_end < atoms.size() && atoms[sentence_end].before < Boundary::line &&
         atoms.tokens(k, sentence_end) <= options.target_tokens) {
    ++sentence_end;
  }
  const std::size_t room_for = atoms.tokens(k, sentence_end) <= options.target_tokens ? sentence_end : k + 1;
  for (const Boundary at_least : {Boundary::line, Boundary::word}) {
    std::size_t best = k;
    for (std::size_t s = k - 1; s > i; --s) {
      if (atoms[s + 1].before == Boundary::section && s + 1 < k) break;
      if (atoms.tokens(s, k) > options.overlap_tokens || atoms.tokens(s, room_for) > options.target_tokens)
        break;
      if (atoms[s].before >= at_least) best = s;
    }
    if (best < k) return best;
  }
  return k;
}

}  // namespace

std::size_t estimate_tokens(std::string_view utf8) {
  return (detail::count_code_points(utf8) + 3) / 4;
}

std::vector<Chunk> chunk_sections(const std::vector<Section>& sections, const ChunkerOptions& options) {
  assert(options.target_tokens >= 1);
  assert(options.overlap_tokens < options.target_tokens);
  ChunkerOptions opts = options;
  if (opts.target_tokens == 0) opts.target_tokens = 1;
  if (opts.overlap_tokens >= opts.target_tokens) opts.overlap_tokens = opts.target_tokens - 1;

  const Atoms atoms(sections, opts.target_tokens * 4);
  std::vector<Chunk> chunks;
  std::size_t i = 0;
  std::size_t min_end = 1;
  while (i < atoms.size()) {
    std::size_t j = i + 1;
    while (j < atoms.size() && atoms.tokens(i, j + 1) <= opts.target_tokens) ++j;
    // choose_next_start() left room for the atom after the previous chunk: j ≥ min_end.
    assert(j >= min_end);
    const std::size_t k = j == atoms.size() ? j : choose_end(atoms, i, min_end, j, opts.target_tokens);
    Chunk chunk;
    chunk.text.reserve(atoms.chars(i, k));
    for (std::size_t m = i; m < k; ++m) {
      if (m > i) chunk.text += atoms[m].separator;
      chunk.text += atoms[m].text;
    }
    const Section& start = sections[atoms[i].section];
    chunk.page = start.page;
    chunk.heading = start.heading;
    chunk.tokens = atoms.tokens(i, k);
    chunks.push_back(std::move(chunk));
    if (k == atoms.size()) break;
    i = choose_next_start(atoms, i, k, opts);
    min_end = k + 1;
  }
  return chunks;
}

}  // namespace ivr::knowledge
