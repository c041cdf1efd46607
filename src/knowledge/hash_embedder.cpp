#include "ivr/knowledge/hash_embedder.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <unordered_set>

#include "utf8.hpp"

namespace ivr::knowledge {
namespace {

constexpr std::size_t kMinNgram = 3;
constexpr std::size_t kMaxNgram = 5;
constexpr int kProbes = 4;
constexpr float kWordWeight = 1.0f;
constexpr float kBigramWeight = 0.3f;
constexpr float kNgramWeight = 1.5f;

// "sábados" → "sabado", "vacinas" → "vacina"; "mês", "juros" → "juro", "class" unchanged.
std::string_view fold_plural(std::string_view w) {
  if (w.size() >= 4 && w.back() == 's' && w[w.size() - 2] != 's') w.remove_suffix(1);
  return w;
}

// ---- folding ----

// U+00C0..U+00FF without accents, lower case (' ' for × and ÷; Æ→a, ß→s, Þ→t: one letter each keeps it
// simple).
constexpr std::string_view kLatin1 =
    "aaaaaaaceeeeiiiidnooooo ouuuuyts"
    "aaaaaaaceeeeiiiidnooooo ouuuuyty";
// U+0100..U+017F (Latin Extended-A) without accents, lower case.
constexpr std::string_view kLatinExtendedA =
    "aaaaaaccccccccdd"
    "ddeeeeeeeeeegggg"
    "gggghhhhiiiiiiii"
    "iiiijjkkklllllll"
    "lllnnnnnnnnnoooo"
    "oooorrrrrrssssss"
    "ssttttttuuuuuuuu"
    "uuuuwwyyyzzzzzzs";

bool is_separator(char32_t c) {
  return (c >= 0x80 && c <= 0xBF) || (c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF01 && c <= 0xFF0F) || c == 0xFFFD;
}

// Lower case, accents folded, apostrophes dropped, other punctuation a space.
std::string fold(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t pos = 0; pos < in.size();) {
    const detail::Decoded d = detail::decode_utf8(in, pos);
    pos += d.length;
    char32_t c = d.cp;
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z') {
        out += static_cast<char>(c - 'A' + 'a');
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        out += static_cast<char>(c);
      } else if (c != '\'') {
        out += ' ';
      }
      continue;
    }
    if (c == 0x2018 || c == 0x2019 || c == 0x02BC) continue;  // typographic apostrophes: "that’s" → "thats"
    if (c >= 0x300 && c <= 0x36F) continue;                   // combining accents (decomposed text)
    if (c >= 0xC0 && c <= 0xFF) {
      out += kLatin1[c - 0xC0];
      continue;
    }
    if (c >= 0x100 && c <= 0x17F) {
      out += kLatinExtendedA[c - 0x100];
      continue;
    }
    if (is_separator(c)) {
      out += ' ';
      continue;
    }
    if (c >= 0x391 && c <= 0x3A9) c += 0x20;  // Greek capitals
    if (c >= 0x410 && c <= 0x42F) c += 0x20;  // Cyrillic capitals
    if (c >= 0x400 && c <= 0x40F) c += 0x50;
    detail::append_utf8(out, c);
  }
  return out;
}

std::vector<std::string> split_words(const std::string& folded) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  while ((pos = folded.find_first_not_of(' ', pos)) != std::string::npos) {
    const auto end = folded.find(' ', pos);
    words.push_back(folded.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

// Function words of Portuguese, English and Spanish, folded. Question words are here too: "quando",
// "how much" say what kind of answer is wanted, not what it is about.
const std::unordered_set<std::string_view>& stop_words() {
  static const std::unordered_set<std::string_view> words = {
      // Portuguese
      "a",
      "o",
      "as",
      "os",
      "um",
      "uma",
      "uns",
      "umas",
      "de",
      "do",
      "da",
      "dos",
      "das",
      "em",
      "no",
      "na",
      "nos",
      "nas",
      "num",
      "numa",
      "por",
      "pelo",
      "pela",
      "pelos",
      "pelas",
      "para",
      "pra",
      "com",
      "sem",
      "e",
      "ou",
      "que",
      "se",
      "ao",
      "aos",
      "ser",
      "foi",
      "sou",
      "esta",
      "estao",
      "eu",
      "voce",
      "voces",
      "ele",
      "ela",
      "eles",
      "elas",
      "me",
      "te",
      "lhe",
      "meu",
      "minha",
      "seu",
      "sua",
      "seus",
      "suas",
      "isso",
      "isto",
      "esse",
      "essa",
      "este",
      "qual",
      "quais",
      "quanto",
      "quanta",
      "quando",
      "como",
      "onde",
      "mais",
      "muito",
      "ja",
      "nao",
      "sim",
      "ha",
      "tem",
      "ter",
      "vcs",
      "vc",
      // English
      "the",
      "an",
      "of",
      "to",
      "in",
      "on",
      "at",
      "for",
      "with",
      "and",
      "or",
      "is",
      "are",
      "was",
      "were",
      "be",
      "been",
      "it",
      "its",
      "this",
      "that",
      "these",
      "those",
      "what",
      "which",
      "who",
      "whom",
      "how",
      "when",
      "where",
      "why",
      "do",
      "does",
      "did",
      "you",
      "your",
      "we",
      "our",
      "i",
      "my",
      "can",
      "could",
      "from",
      "by",
      "if",
      "there",
      "their",
      "they",
      "them",
      "he",
      "she",
      "his",
      "her",
      "will",
      "would",
      "should",
      "not",
      "have",
      "has",
      "had",
      "any",
      "some",
      "am",
      "much",
      "many",
      // Spanish
      "el",
      "la",
      "los",
      "las",
      "un",
      "una",
      "unos",
      "unas",
      "del",
      "y",
      "en",
      "con",
      "sin",
      "es",
      "son",
      "su",
      "sus",
      "al",
      "lo",
      "le",
      "les",
      "mi",
      "tu",
      "yo",
      "usted",
      "ustedes",
      "cuando",
      "donde",
      "cual",
      "cuanto",
      "muy",
      "mas",
      "ya",
      "hay",
  };
  return words;
}

// ---- hashing ----

std::uint64_t fnv1a64(char tag, std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  mix(static_cast<unsigned char>(tag));
  for (char c : bytes) mix(static_cast<unsigned char>(c));
  return h;
}

// MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
std::uint64_t fmix64(std::uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

std::uint64_t feature_hash(char tag, std::string_view feature) noexcept {
  return fmix64(fnv1a64(tag, feature));
}

// Sublinear tf: each distinct feature adds ±(1 + ln count) to its bucket; the result is L2-normalised.
std::vector<float> family_vector(std::vector<std::uint64_t> hashes, int dimension) {
  std::vector<float> v(static_cast<std::size_t>(dimension), 0.0f);
  std::sort(hashes.begin(), hashes.end());  // deterministic order of the float sums
  for (std::size_t i = 0; i < hashes.size();) {
    std::size_t j = i;
    while (j < hashes.size() && hashes[j] == hashes[i]) ++j;
    const float weight = 1.0f + std::log(static_cast<float>(j - i));
    std::uint64_t h = hashes[i];
    for (int p = 0; p < kProbes; ++p) {
      const auto bucket = static_cast<std::size_t>(h % static_cast<std::uint64_t>(dimension));
      v[bucket] += (h >> 63) ? -weight : weight;
      h = fmix64(h + 0x9E3779B97F4A7C15ULL);
    }
    i = j;
  }
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm > 0) {
    const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : v) x *= inv;
  }
  return v;
}

bool all_digits(std::string_view w) {
  return w.find_first_not_of("0123456789") == std::string_view::npos;
}

// Byte offsets of the code point starts of `s`, plus s.size().
std::vector<std::size_t> code_point_offsets(std::string_view s) {
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) offsets.push_back(i);
  }
  offsets.push_back(s.size());
  return offsets;
}

}  // namespace

std::vector<std::string> embedding_words(std::string_view text) {
  return split_words(fold(text));
}

HashEmbedder::HashEmbedder(HashEmbedderOptions options) : options_(options) {
  assert(options_.dimension >= 1);
  if (options_.dimension < 1) options_.dimension = 1;
}

std::string HashEmbedder::model() const {
  return "hash-v1-" + std::to_string(options_.dimension);
}

std::vector<float> HashEmbedder::embed_one(std::string_view text) const {
  const int dim = options_.dimension;
  const std::vector<std::string> all = embedding_words(text);
  std::vector<std::string_view> words;
  for (const std::string& w : all) {
    if (!stop_words().contains(w)) words.push_back(w);
  }
  if (words.empty()) words.assign(all.begin(), all.end());  // "o que é isso?" still means something
  for (std::string_view& w : words) w = fold_plural(w);
  std::vector<float> out(static_cast<std::size_t>(dim), 0.0f);
  if (words.empty()) return out;

  std::vector<std::uint64_t> unigrams;
  std::vector<std::uint64_t> bigrams;
  std::vector<std::uint64_t> ngrams;
  std::string buffer;
  for (std::size_t i = 0; i < words.size(); ++i) {
    unigrams.push_back(feature_hash('w', words[i]));
    if (i + 1 < words.size()) {
      buffer.assign(words[i]).append(" ").append(words[i + 1]);
      bigrams.push_back(feature_hash('b', buffer));
    }
    if (all_digits(words[i])) continue;  // "1002" must not half-match "1003"
    buffer.assign("<").append(words[i]).append(">");
    const std::vector<std::size_t> cp = code_point_offsets(buffer);
    const std::size_t length = cp.size() - 1;
    for (std::size_t n = kMinNgram; n <= kMaxNgram && n <= length; ++n) {
      for (std::size_t s = 0; s + n <= length; ++s) {
        ngrams.push_back(feature_hash('c', std::string_view(buffer).substr(cp[s], cp[s + n] - cp[s])));
      }
    }
  }

  const struct {
    std::vector<std::uint64_t>& hashes;
    float weight;
  } families[] = {
      {unigrams, kWordWeight},
      {bigrams, kBigramWeight},
      {ngrams, kNgramWeight},
  };
  for (const auto& family : families) {
    if (family.hashes.empty()) continue;
    const std::vector<float> v = family_vector(std::move(family.hashes), dim);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += family.weight * v[i];
  }
  double norm = 0;
  for (float x : out) norm += static_cast<double>(x) * x;
  if (norm > 0) {
    const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : out) x *= inv;
  }
  return out;
}

boost::asio::awaitable<Result<std::vector<std::vector<float>>>> HashEmbedder::embed(
    std::vector<std::string> texts) {
  std::vector<std::vector<float>> vectors;
  vectors.reserve(texts.size());
  for (const std::string& text : texts) vectors.push_back(embed_one(text));
  co_return vectors;
}

std::optional<std::vector<std::vector<float>>> HashEmbedder::embed_now(
    const std::vector<std::string>& texts) const {
  std::vector<std::vector<float>> vectors;
  vectors.reserve(texts.size());
  for (const std::string& text : texts) vectors.push_back(embed_one(text));
  return vectors;
}

}  // namespace ivr::knowledge
