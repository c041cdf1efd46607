#pragma once
// Splits text into pieces a TTS provider can speak one at a time: the /synthesize endpoint sends long text
// piece by piece and the realtime pipeline speaks an LLM's answer sentence by sentence. Pure function,
// thread-safe.
//
// Rules:
//  - A sentence ends after . ! ? … (or a run of them, plus closing quotes/brackets) followed by whitespace
//    or the end, and at every line break.
//  - A '.' does not end a sentence after an abbreviation ("Dr.", "Sra.", "etc.", "e.g."), an initial
//    ("J. Silva"), a list number at the start of a line ("1. Ligue"), or when the next word starts in lower
//    case ("Bem... vamos"). Decimals and currency ("3.5", "R$ 1.234,56") never split: no whitespace follows
//    their dots.
//  - A sentence longer than max_chars is cut after ; or : (then after ,) followed by whitespace, packing
//    as many clauses per piece as fit, and if a clause is still too long, hard-wrapped at the last space that
//    fits (or, for one giant word, at a character boundary).
//  - Lengths are counted in UTF-8 code points; a multi-byte sequence is never split (invalid bytes count as
//    one character each and pass through unchanged).
//  - Pieces are trimmed (ASCII whitespace and U+00A0); empty pieces are never returned; every piece has at
//    most max_chars code points (max_chars 0 is treated as 1).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ivr::providers {

std::vector<std::string> split_sentences(std::string_view text, std::size_t max_chars = 400);

// Number of UTF-8 code points in `text` (invalid bytes count one each).
std::size_t utf8_length(std::string_view text) noexcept;

}  // namespace ivr::providers
