#pragma once
// The loaded per-domain indexes of this instance: a cache over Postgres, which stays the source of truth.
// An index is built on its domain's first search (vectors read in pages on the db pool, FAISS built on the
// worker pool), updated in place when this instance ingests or deletes a document, dropped when another
// instance says the domain changed (Redis pub/sub), when unused for `idle`, or when the loaded indexes
// exceed the memory budget (least recently used first).
//
// io thread only (the indexes themselves are searched on the worker pool by KnowledgeService).

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/rag/vector_index.hpp"

namespace boost::asio {
class thread_pool;
}
namespace ivr::store {
class DocumentRepository;
}

namespace ivr::rag {

struct DomainIndexesOptions {
  VectorIndexOptions index;  // dimension = the embedder's
  std::string model;         // the embedder's model: only its vectors are loaded
  std::size_t memory_budget_bytes = 512u << 20;
  std::chrono::milliseconds idle{30 * 60 * 1000};
  int load_page_rows = 5'000;
};

class DomainIndexes {
 public:
  DomainIndexes(boost::asio::thread_pool& pool, store::DocumentRepository& documents,
                DomainIndexesOptions options);
  ~DomainIndexes();

  // The domain's index, loaded first if needed (concurrent callers share one load). Errors of the load
  // (Postgres unavailable…) are returned and nothing is cached.
  boost::asio::awaitable<Result<std::shared_ptr<VectorIndex>>> get(std::string domain_uuid);

  // This instance ingested a document: its vectors go into the loaded index (a no-op when the domain is
  // not loaded; a load in progress is redone).
  boost::asio::awaitable<void> add(std::string domain_uuid, std::vector<IndexedVector> vectors);
  // This instance deleted (or is re-ingesting) a document.
  boost::asio::awaitable<void> remove(std::string domain_uuid, std::string document_id);
  // Another instance changed the domain: forget the loaded index (rebuilt on the next search).
  void drop(const std::string& domain_uuid);

  std::size_t loaded() const;
  std::size_t memory_bytes() const;
  std::size_t loads() const { return loads_; }
  const DomainIndexesOptions& options() const { return options_; }

 private:
  struct Entry;
  boost::asio::awaitable<Result<std::shared_ptr<VectorIndex>>> load(std::string domain_uuid);
  void evict(const std::string& keep);

  boost::asio::thread_pool& pool_;
  store::DocumentRepository& documents_;
  DomainIndexesOptions options_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::size_t loads_ = 0;
  std::chrono::steady_clock::time_point last_sweep_{};
};

}  // namespace ivr::rag
