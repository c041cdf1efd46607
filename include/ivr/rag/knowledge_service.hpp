#pragma once
// Search over a domain's documents: the KnowledgeBase the conversation layer (/chat, the realtime path)
// calls, and the admin's POST /documents/search. The query is embedded with the configured embedder, the
// domain's index (DomainIndexes) is searched on the worker pool, and the passages' text comes from
// Postgres. Only the domain's own chunks can be found: the index is the domain's, and the text query
// filters on the domain again.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/conversation/knowledge.hpp"
#include "ivr/core/errors.hpp"

namespace boost::asio {
class thread_pool;
}
namespace ivr::store {
class DocumentRepository;
}
namespace ivr::knowledge {
class Embedder;
}

namespace ivr::rag {

class DomainIndexes;

struct SearchHit {
  std::int64_t chunk_id = 0;
  std::string document_id;
  std::string document_title;
  int page = 0;         // PDF page, 0 when none
  std::string heading;  // DOCX section, empty when none
  std::string text;
  double score = 0;
};

struct KnowledgeServiceOptions {
  double min_score = 0.04;
  int max_top_k = 50;
};

class KnowledgeService final : public conversation::KnowledgeBase {
 public:
  // All references must outlive the service. io thread only.
  KnowledgeService(boost::asio::thread_pool& pool, store::DocumentRepository& documents,
                   DomainIndexes& indexes, knowledge::Embedder& embedder, KnowledgeServiceOptions options);

  // Ranked passages above `min_score` (top_k clamped to 1..max_top_k). An empty or wordless query finds
  // nothing. Errors: the embedder's (remote), unavailable (Postgres).
  boost::asio::awaitable<Result<std::vector<SearchHit>>> search_chunks(
      std::string domain_uuid, std::optional<std::string> secretary_id, std::string query, int top_k,
      double min_score);

  // KnowledgeBase: search_chunks() with the configured minimum score.
  boost::asio::awaitable<Result<std::vector<providers::KnowledgeSnippet>>> search(
      std::string domain_uuid, std::optional<std::string> secretary_id, std::string query,
      int top_k) override;

  const KnowledgeServiceOptions& options() const { return options_; }

 private:
  boost::asio::thread_pool& pool_;
  store::DocumentRepository& documents_;
  DomainIndexes& indexes_;
  knowledge::Embedder& embedder_;
  KnowledgeServiceOptions options_;
};

}  // namespace ivr::rag
