#include "ivr/rag/knowledge_service.hpp"

#include <algorithm>
#include <unordered_map>

#include "ivr/core/offload.hpp"
#include "ivr/knowledge/embedder.hpp"
#include "ivr/rag/domain_indexes.hpp"
#include "ivr/store/documents.hpp"

namespace ivr::rag {

namespace asio = boost::asio;

KnowledgeService::KnowledgeService(asio::thread_pool& pool, store::DocumentRepository& documents,
                                   DomainIndexes& indexes, knowledge::Embedder& embedder,
                                   KnowledgeServiceOptions options)
    : pool_(pool), documents_(documents), indexes_(indexes), embedder_(embedder), options_(options) {}

asio::awaitable<Result<std::vector<SearchHit>>> KnowledgeService::search_chunks(
    std::string domain_uuid, std::optional<std::string> secretary_id, std::string query, int top_k,
    double min_score) {
  std::vector<SearchHit> hits;
  top_k = std::clamp(top_k, 1, options_.max_top_k);
  if (query.find_first_not_of(" \t\r\n") == std::string::npos) co_return hits;

  // The index first: a domain without documents (the common case on a fresh install) costs neither an
  // embedding (a paid request with a remote embedder) nor a trip to the worker pool.
  Result<std::shared_ptr<VectorIndex>> index = co_await indexes_.get(domain_uuid);
  if (!index) co_return index.error();
  if ((*index)->published_size() == 0) co_return hits;

  std::vector<std::string> texts{std::move(query)};
  Result<std::vector<std::vector<float>>> embedded = co_await embedder_.embed(std::move(texts));
  if (!embedded) co_return embedded.error();
  if (embedded->size() != 1) co_return make_error_code(Errc::upstream_error);
  std::vector<float> vector = std::move(embedded->front());
  const bool wordless = std::all_of(vector.begin(), vector.end(), [](float x) { return x == 0.0f; });
  if (wordless) co_return hits;

  // published_size() rather than size(): size() takes the index's lock, which an add on the worker pool
  // holds while it inserts a batch (into an HNSW graph: tens of milliseconds); the io thread never waits on
  // it.
  auto search = [index = *index, vector = std::move(vector), top_k, secretary_id] {
    std::optional<std::string_view> secretary;
    if (secretary_id) secretary = *secretary_id;
    return index->search(vector, top_k, secretary);
  };
  std::vector<IndexHit> ranked = co_await offload(pool_, std::move(search));
  std::erase_if(ranked, [min_score](const IndexHit& h) { return h.score < min_score; });
  if (ranked.empty()) co_return hits;

  std::vector<std::int64_t> ids;
  ids.reserve(ranked.size());
  for (const auto& h : ranked) ids.push_back(h.chunk_id);
  Result<std::vector<store::ChunkText>> texts_found =
      co_await documents_.chunk_texts(domain_uuid, std::move(ids));
  if (!texts_found) co_return texts_found.error();
  std::unordered_map<std::int64_t, store::ChunkText*> by_id;
  for (auto& t : *texts_found) by_id[t.chunk_id] = &t;
  for (const auto& h : ranked) {
    auto it = by_id.find(h.chunk_id);
    if (it == by_id.end()) continue;  // deleted since the index saw it
    store::ChunkText& t = *it->second;
    hits.push_back({h.chunk_id, std::move(t.document_id), std::move(t.document_title), t.page,
                    std::move(t.heading), std::move(t.text), h.score});
  }
  co_return hits;
}

asio::awaitable<Result<std::vector<providers::KnowledgeSnippet>>> KnowledgeService::search(
    std::string domain_uuid, std::optional<std::string> secretary_id, std::string query, int top_k) {
  Result<std::vector<SearchHit>> hits = co_await search_chunks(
      std::move(domain_uuid), std::move(secretary_id), std::move(query), top_k, options_.min_score);
  if (!hits) co_return hits.error();
  std::vector<providers::KnowledgeSnippet> snippets;
  snippets.reserve(hits->size());
  for (auto& h : *hits) snippets.push_back({std::move(h.document_title), std::move(h.text), h.score});
  co_return snippets;
}

}  // namespace ivr::rag
