#pragma once
// The knowledge-base API (admin scope): POST /documents/upload, GET /documents, GET/DELETE
// /documents/{id}, POST /documents/search.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "ivr/api/tenant_guard.hpp"
#include "ivr/net/router.hpp"

namespace ivr::conversation {
class SecretaryDirectory;
}
namespace ivr::store {
class DocumentRepository;
}
namespace ivr::rag {
class KnowledgeService;
class DomainIndexes;
}  // namespace ivr::rag

namespace ivr::api {

struct DocumentDependencies {
  TenantGuard& guard;
  conversation::SecretaryDirectory& secretaries;
  store::DocumentRepository& documents;
  rag::KnowledgeService& knowledge;
  rag::DomainIndexes& indexes;
  std::function<void()> wake_ingestion;                                 // an upload is waiting
  std::function<void(const std::string& domain_uuid)> announce_change;  // tell other instances
  std::size_t max_upload_bytes = 20u << 20;
  int default_top_k = 4;
};

void register_document_routes(net::Router& router, std::shared_ptr<DocumentDependencies> deps);

}  // namespace ivr::api
