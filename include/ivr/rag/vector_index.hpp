#pragma once
// One domain's vectors for one embedding model, searchable by inner product (cosine on the normalised
// vectors the embedders produce). FAISS stays inside vector_index.cpp.
//
// Layout: a flat (exact) index while the domain is small, an HNSW graph once it has hnsw_threshold live
// vectors (rebuilt from the stored vectors when it crosses). Deletion marks vectors dead (HNSW cannot
// remove nodes); searches skip them through a FAISS IDSelector and the index is compacted when a quarter
// of it is dead. Every vector carries its chunk id, its document and its document's secretary (empty =
// the whole domain), so a search for one secretary sees its own documents and the domain-wide ones.
//
// Thread safety: search() may run on several worker threads at once; add() and remove_document() take an
// exclusive lock. Rebuilds (the switch to HNSW, compaction) build the new index outside that lock, so
// searches, adds and removals go on meanwhile against the old one and never wait for a graph to be built;
// the add() or remove_document() that triggered the rebuild returns once it is swapped in. Blocking
// (CPU-heavy): call from the worker pool, never the io thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ivr::rag {

struct VectorIndexOptions {
  int dimension = 384;
  std::size_t hnsw_threshold = 20'000;  // live vectors from which the index is an HNSW graph
  int hnsw_m = 32;                      // graph degree: recall vs memory
  int hnsw_ef_construction = 80;
  int hnsw_ef_search = 96;  // recall vs latency at search time
  // Tests: runs on the rebuilding thread when a rebuild starts, outside the index's lock. An exception
  // from it fails that rebuild as running out of memory would.
  std::function<void()> rebuild_hook{};
};

struct IndexedVector {
  std::int64_t chunk_id = 0;
  std::string document_id;
  std::string secretary_id;      // empty: every secretary of the domain
  std::vector<float> embedding;  // dimension floats
};

struct IndexHit {
  std::int64_t chunk_id = 0;
  std::string document_id;
  float score = 0;
};

class VectorIndex {
 public:
  explicit VectorIndex(VectorIndexOptions options);
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Vectors of the wrong dimension are skipped (counted in the return value's complement). Returns the
  // number added.
  std::size_t add(std::span<const IndexedVector> vectors);
  // Marks every vector of the document dead. Returns how many.
  std::size_t remove_document(std::string_view document_id);

  // The top_k best live vectors visible to `secretary_id` (nullopt: every vector of the domain), best
  // first. A query of the wrong dimension finds nothing.
  std::vector<IndexHit> search(std::span<const float> query, int top_k,
                               std::optional<std::string_view> secretary_id = std::nullopt) const;

  std::size_t size() const;  // live vectors
  // The live vectors as of the end of the last add or removal, read without taking the index's lock (which
  // an add may hold for long): for "is there anything to search at all?" on the io thread.
  std::size_t published_size() const;
  bool is_hnsw() const;
  // Bytes held: vectors, graph links and the per-vector bookkeeping.
  std::size_t memory_bytes() const;
  int dimension() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivr::rag
