#include "ivr/api/document_routes.hpp"

#include <nlohmann/json.hpp>

#include "ivr/api/json_body.hpp"
#include "ivr/conversation/chat_service.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/knowledge/document_type.hpp"
#include "ivr/net/multipart_reader.hpp"
#include "ivr/rag/domain_indexes.hpp"
#include "ivr/rag/knowledge_service.hpp"
#include "ivr/store/documents.hpp"

namespace ivr::api {
namespace {

using nlohmann::json;
using Deps = std::shared_ptr<DocumentDependencies>;
using boost::asio::awaitable;
using store::TokenScope;

constexpr std::size_t kMaxTitle = 200;
constexpr std::size_t kMaxQuery = 2'000;
// Room for the multipart framing and the small fields around the file itself.
constexpr std::size_t kMultipartOverhead = 64 * 1024;

net::HttpResponse from_error(const boost::system::error_code& ec, std::string_view what) {
  if (ec.category() == ivr_category()) return api_error(static_cast<Errc>(ec.value()), what);
  return api_error(Errc::internal, "internal error");
}

json null_if_empty(const std::string& s) {
  return s.empty() ? json() : json(s);
}

json document_json(const store::DocumentRecord& d) {
  return {{"id", d.id},
          {"title", d.title},
          {"filename", d.filename},
          {"type", d.doc_type},
          {"size_bytes", d.size_bytes},
          {"sha256", d.sha256},
          {"secretary_id", null_if_empty(d.secretary_id)},
          {"status", d.status},
          {"reason", null_if_empty(d.reason)},
          {"pages", d.pages ? json(*d.pages) : json()},
          {"chunks", d.chunk_count},
          {"tokens", d.token_count},
          {"embedding_model", null_if_empty(d.embedding_model)},
          {"created_at", d.created_at},
          {"updated_at", d.updated_at}};
}

// "Tabela de preços.pdf" → "Tabela de preços"; the title shown to admins and quoted to the model.
std::string title_from_filename(std::string_view filename) {
  const auto slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  const auto dot = filename.rfind('.');
  if (dot != std::string_view::npos && dot > 0) filename = filename.substr(0, dot);
  return std::string(filename);
}

// nlohmann's strict dump is the UTF-8 validator at hand (titles and file names are short).
bool valid_utf8_text(std::string_view s) {
  try {
    (void)json(std::string(s)).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

awaitable<net::HttpResponse> upload(Deps d, TenantRequest& r) {
  const std::string content_type(r.http.headers.get("content-type").value_or(""));
  std::optional<std::string> boundary = net::multipart_boundary(content_type);
  if (!boundary) co_return api_error(Errc::bad_request, "multipart/form-data needs a boundary parameter");
  Result<std::vector<net::MultipartPart>> parts = net::parse_multipart(r.http.body, *boundary);
  if (!parts) co_return api_error(Errc::bad_request, "malformed multipart body");

  const net::MultipartPart* file = nullptr;
  std::string title;
  std::optional<std::string> secretary_id;
  for (const auto& p : *parts) {
    if (p.name == "file") {
      if (file != nullptr) co_return api_error(Errc::bad_request, "upload one 'file' part per request");
      file = &p;
    } else if (p.name == "title") {
      title = std::string(p.data);
    } else if (p.name == "secretary_id") {
      if (!p.data.empty()) secretary_id = std::string(p.data);
    }
  }
  if (file == nullptr) co_return api_error(Errc::bad_request, "the multipart body has no 'file' part");
  if (file->data.size() > d->max_upload_bytes) {
    co_return api_error(Errc::payload_too_large, "the file is larger than the limit of " +
                                                     std::to_string(d->max_upload_bytes) + " bytes");
  }
  knowledge::ExtractResult<knowledge::DocumentType> type = knowledge::sniff_document_type(file->data);
  if (!type) co_return api_error(type.error().code, type.error().reason);

  if (title.empty()) title = title_from_filename(file->filename);
  if (title.empty()) title = "document";
  if (title.size() > kMaxTitle || !valid_utf8_text(title)) {
    co_return api_error(Errc::unprocessable, "the title must be UTF-8 text of at most 200 bytes");
  }
  if (secretary_id) {
    if (!is_valid_uuid(*secretary_id))
      co_return api_error(Errc::unprocessable, "secretary_id must be a UUID");
    Result<conversation::Secretary> s =
        co_await d->secretaries.resolve(r.domain.uuid, r.domain.name, secretary_id, /*fresh=*/true);
    if (!s) {
      co_return from_error(s.error(), s.error() == Errc::not_found ? "no such secretary in this domain"
                                                                   : "cannot read the secretary");
    }
  }

  store::NewDocument doc;
  doc.domain_uuid = r.domain.uuid;
  doc.secretary_id = secretary_id.value_or("");
  doc.title = std::move(title);
  doc.filename = valid_utf8_text(file->filename) ? file->filename.substr(0, 255) : "";
  doc.doc_type = std::string(knowledge::to_string(*type));
  doc.sha256 = sha256_hex(file->data);
  doc.content = std::string(file->data);
  Result<store::CreatedDocument> created = co_await d->documents.create(std::move(doc));
  if (!created) co_return from_error(created.error(), "cannot store the document");
  if (created->created && d->wake_ingestion) d->wake_ingestion();
  module_logger("api")->info("document {} {} ({} bytes, {}) for domain {}", created->document.id,
                             created->created ? "uploaded" : "already present", created->document.size_bytes,
                             created->document.doc_type, r.domain.uuid);
  json body = document_json(created->document);
  body["duplicate"] = !created->created;
  co_return json_response(created->created ? 202 : 200, body);
}

awaitable<net::HttpResponse> list_documents(Deps d, TenantRequest& r) {
  Result<std::vector<store::DocumentRecord>> rows = co_await d->documents.list(r.domain.uuid);
  if (!rows) co_return from_error(rows.error(), "cannot read the documents");
  json list = json::array();
  for (const auto& row : *rows) list.push_back(document_json(row));
  co_return json_response(200, {{"documents", list}});
}

awaitable<net::HttpResponse> get_document(Deps d, TenantRequest& r) {
  Result<store::DocumentRecord> row =
      co_await d->documents.get(r.domain.uuid, std::string(r.http.path_param("id")));
  if (!row) {
    co_return from_error(row.error(), row.error() == Errc::not_found ? "no such document in this domain"
                                                                     : "cannot read the document");
  }
  co_return json_response(200, document_json(*row));
}

awaitable<net::HttpResponse> delete_document(Deps d, TenantRequest& r) {
  Result<store::DocumentRecord> row =
      co_await d->documents.remove(r.domain.uuid, std::string(r.http.path_param("id")));
  if (!row) {
    co_return from_error(row.error(), row.error() == Errc::not_found ? "no such document in this domain"
                                                                     : "cannot delete the document");
  }
  co_await d->indexes.remove(r.domain.uuid, row->id);
  if (d->announce_change) d->announce_change(r.domain.uuid);
  module_logger("api")->info("document {} of domain {} deleted", row->id, r.domain.uuid);
  json body = document_json(*row);
  body["deleted"] = true;
  co_return json_response(200, body);
}

awaitable<net::HttpResponse> search_documents(Deps d, TenantRequest& r) {
  json body;
  net::HttpResponse error;
  if (!parse_json_object(r.http, body, error)) co_return error;
  auto query = body.find("query");
  if (query == body.end() || !query->is_string() || query->get_ref<const std::string&>().empty()) {
    co_return api_error(Errc::unprocessable, "query: a non-empty string is required");
  }
  if (query->get_ref<const std::string&>().size() > kMaxQuery) {
    co_return api_error(Errc::unprocessable, "query: at most 2000 bytes");
  }
  int top_k = d->default_top_k;
  if (auto k = body.find("top_k"); k != body.end() && !k->is_null()) {
    if (!k->is_number_integer() || k->get<int>() < 1 || k->get<int>() > 50) {
      co_return api_error(Errc::unprocessable, "top_k: an integer from 1 to 50");
    }
    top_k = k->get<int>();
  }
  double min_score = d->knowledge.options().min_score;
  if (auto m = body.find("min_score"); m != body.end() && !m->is_null()) {
    if (!m->is_number() || m->get<double>() < -1 || m->get<double>() > 1) {
      co_return api_error(Errc::unprocessable, "min_score: a number from -1 to 1");
    }
    min_score = m->get<double>();
  }
  std::optional<std::string> secretary_id;
  if (auto s = body.find("secretary_id"); s != body.end() && !s->is_null()) {
    if (!s->is_string() || !is_valid_uuid(s->get_ref<const std::string&>())) {
      co_return api_error(Errc::unprocessable, "secretary_id: a UUID");
    }
    secretary_id = s->get<std::string>();
  }
  Result<std::vector<rag::SearchHit>> hits = co_await d->knowledge.search_chunks(
      r.domain.uuid, secretary_id, query->get<std::string>(), top_k, min_score);
  if (!hits) co_return from_error(hits.error(), "the knowledge base cannot be searched now");
  json results = json::array();
  for (const auto& h : *hits) {
    results.push_back({{"document_id", h.document_id},
                       {"document_title", h.document_title},
                       {"page", h.page > 0 ? json(h.page) : json()},
                       {"section", null_if_empty(h.heading)},
                       {"score", h.score},
                       {"text", h.text}});
  }
  co_return json_response(200, {{"results", results}});
}

template <class Fn>
TenantHandler bind(Deps d, Fn fn) {
  return [d, fn](TenantRequest& r) -> awaitable<net::HttpResponse> { return fn(d, r); };
}

}  // namespace

void register_document_routes(net::Router& router, Deps d) {
  TenantGuard& g = d->guard;
  net::RouteOptions upload_route;
  upload_route.max_body_bytes = d->max_upload_bytes + kMultipartOverhead;
  upload_route.content_types = {"multipart/form-data"};
  net::RouteOptions json_route;
  json_route.content_types = {"application/json"};

  router.add("POST", "/documents/upload", g.wrap(TokenScope::admin, bind(d, upload)), upload_route);
  router.add("GET", "/documents", g.wrap(TokenScope::admin, bind(d, list_documents)));
  router.add("POST", "/documents/search", g.wrap(TokenScope::admin, bind(d, search_documents)), json_route);
  router.add("GET", "/documents/{id}", g.wrap(TokenScope::admin, bind(d, get_document)));
  router.add("DELETE", "/documents/{id}", g.wrap(TokenScope::admin, bind(d, delete_document)));
}

}  // namespace ivr::api
