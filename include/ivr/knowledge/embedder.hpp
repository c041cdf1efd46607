#pragma once
// Text embeddings for the knowledge base: the seam between chunk/query text and vectors. Implementations
// are the offline HashEmbedder (hash_embedder.hpp) and, later, the OpenAI-compatible /v1/embeddings
// client. The model name and dimension are stored with each chunk: vectors of different models are never
// compared.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace ivr::knowledge {

class Embedder {
 public:
  virtual ~Embedder() = default;

  // One vector of dimension() floats per text, in order, L2-normalised (an all-zero vector for a text
  // with nothing to embed), so the inner product is the cosine similarity.
  // Errors (remote embedders): timeout, unavailable, rate_limited, upstream_error, cancelled.
  // Runs on the caller's executor (the io thread); cancellation as the implementation documents.
  virtual boost::asio::awaitable<Result<std::vector<std::vector<float>>>> embed(
      std::vector<std::string> texts) = 0;

  // Local embedders only: the same vectors computed synchronously on the calling thread, so that a caller
  // with many texts (ingestion) can run them on a worker pool. Remote embedders return nullopt: use
  // embed(). Thread-safe.
  virtual std::optional<std::vector<std::vector<float>>> embed_now(
      const std::vector<std::string>& texts) const {
    (void)texts;
    return std::nullopt;
  }

  // Fixed for the object's lifetime. Thread-safe.
  virtual int dimension() const = 0;
  // Identifies the vector space, e.g. "hash-v1-384" or "text-embedding-3-small". Thread-safe.
  virtual std::string model() const = 0;
};

// Inner product; the cosine similarity of two normalised vectors. Precondition: equal sizes (asserted).
float dot(std::span<const float> a, std::span<const float> b) noexcept;

}  // namespace ivr::knowledge
