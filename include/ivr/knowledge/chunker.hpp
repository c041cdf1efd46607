#pragma once
// Splitting normalised sections into overlapping chunks for embedding. Pure and deterministic: the same
// sections and options always give the same chunks.
//
// Token estimate: estimate_tokens(text) = ceil(code points / 4). Why characters and not words × 1.3:
//  - it bounds a chunk's length in characters whatever the text is: one 5,000-character URL, a table
//    row without spaces or a run of CJK is one "word" to a word count, and would make a chunk of any
//    length; the embedding model's context limit is what the estimate must protect;
//  - it is additive and cheap (no segmentation rules to agree on between the chunker and its tests);
//  - it matches the usual rule of thumb (≈ 4 characters per token for English with BPE tokenizers);
//    Portuguese runs nearer 3.5 characters per token with cl100k, so a "1000-token" chunk is ≈ 1150 real
//    tokens: well inside the 8191 of OpenAI's embedding models, and the default sizes leave the margin.
//    Code points, not bytes, so accents do not inflate the count.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ivr/knowledge/section.hpp"

namespace ivr::knowledge {

// ceil(number of Unicode code points / 4); 0 for an empty text. Counts the bytes that start a UTF-8
// sequence (exact for valid UTF-8, which normalize_text() guarantees).
std::size_t estimate_tokens(std::string_view utf8);

struct ChunkerOptions {
  std::size_t target_tokens = 1000;  // maximum estimate_tokens() of a chunk; ≥ 1
  std::size_t overlap_tokens = 200;  // at most this much of a chunk's end starts the next; < target
};

struct Chunk {
  std::string text;
  int page = 0;            // page of the chunk's first word
  std::string heading;     // heading of the chunk's first word
  std::size_t tokens = 0;  // estimate_tokens(text)

  friend bool operator==(const Chunk&, const Chunk&) = default;
};

// Chunks of at most target_tokens each, covering every word of the sections in order. Sections are
// joined as paragraphs; a change of heading is a stronger break than a paragraph, a change of page is not.
//
// Where a chunk ends: words are packed until the next would overflow; the chunk then ends at the latest
// boundary of the strongest kind available, in this order: a heading change or paragraph break if the
// chunk is then at least half full; a sentence end, then a line break, if at least a quarter full; any
// sentence end or line break; a space between words (only when no sentence or line ends among the
// chunk's new words: a sentence longer than a chunk); inside a word (only a word longer than a whole
// chunk, cut at code point boundaries). A chunk always ends past the previous one's end.
// Sentence ends: "." "!" "?" "…" (closing quotes/brackets may follow) before a word that does not start
// in lower case, except after abbreviations (Dr., Sra., Av., p.ex., e.g., single letters, a list number
// opening a line…).
//
// Overlap: the next chunk starts with the longest tail of the previous one that fits overlap_tokens and
// starts at a sentence end or line break (at a space between words if no such tail fits), never reaching
// back across a heading change (a new heading starts fresh). The tail is shortened when needed so that
// the next chunk can still hold the rest of the sentence it continues.
//
// Words are joined with the separator that preceded them ("\n\n" paragraph, "\n" line, " " otherwise),
// so for normalised text (normalize_text) a chunk within one section is a substring of it.
// Preconditions (asserted; release builds clamp): target_tokens ≥ 1, overlap_tokens < target_tokens.
std::vector<Chunk> chunk_sections(const std::vector<Section>& sections, const ChunkerOptions& options = {});

}  // namespace ivr::knowledge
