#pragma once
// The knowledge-base seam used by /chat and (later) the realtime path. The knowledge-base issue provides
// the FAISS-backed implementation; until it lands the daemon wires NoKnowledgeBase, which finds nothing.

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/providers/provider.hpp"

namespace ivr::conversation {

class KnowledgeBase {
 public:
  virtual ~KnowledgeBase() = default;
  // Ranked passages of `domain_uuid`'s documents (optionally only those of one secretary) above the
  // minimum score. Never returns another domain's passages.
  virtual boost::asio::awaitable<Result<std::vector<providers::KnowledgeSnippet>>> search(
      std::string domain_uuid, std::optional<std::string> secretary_id, std::string query, int top_k) = 0;
};

// A knowledge base with no documents.
class NoKnowledgeBase final : public KnowledgeBase {
 public:
  boost::asio::awaitable<Result<std::vector<providers::KnowledgeSnippet>>> search(std::string,
                                                                                  std::optional<std::string>,
                                                                                  std::string, int) override {
    co_return std::vector<providers::KnowledgeSnippet>{};
  }
};

}  // namespace ivr::conversation
