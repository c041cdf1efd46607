#include "ivr/store/documents.hpp"

#include <cstring>

#include "ivr/core/ids.hpp"
#include "pg_pool.hpp"

namespace ivr::store {
namespace {

constexpr const char* kIso = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

std::string iso(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', " + kIso + ")";
}

std::string document_columns() {
  return "document_id::text, domain_uuid::text, coalesce(secretary_id::text, ''), title, filename, doc_type, "
         "size_bytes, sha256, status, coalesce(reason, ''), pages, chunk_count, token_count, "
         "coalesce(embedding_model, ''), attempts, " +
         iso("created_at") + ", " + iso("updated_at");
}

DocumentRecord document_from_row(const pqxx::row& row) {
  DocumentRecord d;
  d.id = row[0].c_str();
  d.domain_uuid = row[1].c_str();
  d.secretary_id = row[2].c_str();
  d.title = row[3].c_str();
  d.filename = row[4].c_str();
  d.doc_type = row[5].c_str();
  d.size_bytes = row[6].as<std::int64_t>();
  d.sha256 = row[7].c_str();
  d.status = row[8].c_str();
  d.reason = row[9].c_str();
  if (!row[10].is_null()) d.pages = row[10].as<int>();
  d.chunk_count = row[11].as<int>();
  d.token_count = row[12].as<std::int64_t>();
  d.embedding_model = row[13].c_str();
  d.attempts = row[14].as<int>();
  d.created_at = row[15].c_str();
  d.updated_at = row[16].c_str();
  return d;
}

// Embeddings are stored as little-endian float32 (every platform we build for is little-endian).
static_assert(sizeof(float) == 4);

pqxx::binarystring embedding_bytes(const std::vector<float>& v) {
  return pqxx::binarystring(v.data(), v.size() * sizeof(float));
}

std::vector<float> embedding_from(const pqxx::field& field) {
  const pqxx::binarystring bytes(field);
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

std::string lease_interval(std::chrono::milliseconds lease) {
  return std::to_string(lease.count()) + " milliseconds";
}

}  // namespace

boost::asio::awaitable<Result<CreatedDocument>> DocumentRepository::create(NewDocument doc) {
  auto work = [doc = std::move(doc)](pqxx::connection& c) -> Result<CreatedDocument> {
    pqxx::work tx(c);
    const pqxx::binarystring content(doc.content.data(), doc.content.size());
    const pqxx::result inserted = tx.exec_params(
        "INSERT INTO documents (domain_uuid, secretary_id, title, filename, doc_type, size_bytes, sha256, "
        "content) VALUES ($1::uuid, nullif($2, '')::uuid, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (domain_uuid, sha256) DO NOTHING RETURNING " +
            document_columns(),
        doc.domain_uuid, doc.secretary_id, doc.title, doc.filename, doc.doc_type,
        static_cast<std::int64_t>(doc.content.size()), doc.sha256, content);
    CreatedDocument out;
    if (!inserted.empty()) {
      out.document = document_from_row(inserted[0]);
      out.created = true;
    } else {
      const pqxx::result existing = tx.exec_params(
          "SELECT " + document_columns() + " FROM documents WHERE domain_uuid = $1::uuid AND sha256 = $2",
          doc.domain_uuid, doc.sha256);
      if (existing.empty()) return make_error_code(Errc::conflict);  // deleted in between: retry
      out.document = document_from_row(existing[0]);
    }
    tx.commit();
    return out;
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<std::vector<DocumentRecord>>> DocumentRepository::list(
    std::string domain_uuid) {
  auto work = [domain_uuid = std::move(domain_uuid)](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const pqxx::result res = tx.exec_params("SELECT " + document_columns() +
                                                " FROM documents WHERE domain_uuid = $1::uuid "
                                                "ORDER BY created_at DESC, document_id",
                                            domain_uuid);
    std::vector<DocumentRecord> out;
    out.reserve(res.size());
    for (const auto& row : res) out.push_back(document_from_row(row));
    return out;
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<DocumentRecord>> DocumentRepository::get(std::string domain_uuid,
                                                                       std::string document_id) {
  if (!is_valid_uuid(document_id)) co_return make_error_code(Errc::not_found);
  auto work = [domain_uuid = std::move(domain_uuid),
               document_id = std::move(document_id)](pqxx::connection& c) -> Result<DocumentRecord> {
    pqxx::read_transaction tx(c);
    const pqxx::result res =
        tx.exec_params("SELECT " + document_columns() +
                           " FROM documents WHERE domain_uuid = $1::uuid AND document_id = $2::uuid",
                       domain_uuid, document_id);
    if (res.empty()) return make_error_code(Errc::not_found);
    return document_from_row(res[0]);
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<DocumentRecord>> DocumentRepository::remove(std::string domain_uuid,
                                                                          std::string document_id) {
  if (!is_valid_uuid(document_id)) co_return make_error_code(Errc::not_found);
  auto work = [domain_uuid = std::move(domain_uuid),
               document_id = std::move(document_id)](pqxx::connection& c) -> Result<DocumentRecord> {
    pqxx::work tx(c);
    const pqxx::result res = tx.exec_params(
        "DELETE FROM documents WHERE domain_uuid = $1::uuid AND document_id = $2::uuid RETURNING " +
            document_columns(),
        domain_uuid, document_id);
    if (res.empty()) return make_error_code(Errc::not_found);
    tx.commit();
    return document_from_row(res[0]);
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<std::optional<IngestionJob>>> DocumentRepository::claim(
    std::string model, std::chrono::milliseconds lease) {
  auto work = [model = std::move(model), lease](pqxx::connection& c) -> Result<std::optional<IngestionJob>> {
    pqxx::work tx(c);
    const pqxx::result res = tx.exec_params(
        "UPDATE documents SET lease_until = now() + $2::interval, attempts = attempts + 1, updated_at = "
        "now() "
        "WHERE document_id = (SELECT document_id FROM documents "
        "  WHERE (status = 'processing' OR (status = 'ready' AND embedding_model IS DISTINCT FROM $1)) "
        "    AND (lease_until IS NULL OR lease_until < now()) "
        "  ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1) "
        "RETURNING " +
            document_columns() + ", content",
        model, lease_interval(lease));
    tx.commit();
    if (res.empty()) return std::optional<IngestionJob>();
    IngestionJob job;
    job.document = document_from_row(res[0]);
    if (!res[0][17].is_null()) {
      const pqxx::binarystring bytes(res[0][17]);
      job.content.assign(bytes.get(), bytes.size());
    }
    return std::optional<IngestionJob>(std::move(job));
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<bool>> DocumentRepository::renew(std::string document_id,
                                                               std::chrono::milliseconds lease) {
  auto work = [document_id = std::move(document_id), lease](pqxx::connection& c) {
    pqxx::work tx(c);
    const pqxx::result res =
        tx.exec_params("UPDATE documents SET lease_until = now() + $2::interval WHERE document_id = $1::uuid",
                       document_id, lease_interval(lease));
    tx.commit();
    return res.affected_rows() == 1;
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<std::optional<std::vector<std::int64_t>>>> DocumentRepository::complete(
    std::string document_id, std::string model, int dimension, std::optional<int> pages,
    std::vector<StoredChunk> chunks) {
  auto work =
      [document_id = std::move(document_id), model = std::move(model), dimension, pages,
       chunks = std::move(chunks)](pqxx::connection& c) -> Result<std::optional<std::vector<std::int64_t>>> {
    pqxx::work tx(c);
    const pqxx::result doc = tx.exec_params(
        "SELECT domain_uuid::text FROM documents WHERE document_id = $1::uuid FOR UPDATE", document_id);
    if (doc.empty()) return std::optional<std::vector<std::int64_t>>();
    const std::string domain = doc[0][0].c_str();
    tx.exec_params("DELETE FROM document_chunks WHERE document_id = $1::uuid", document_id);
    std::int64_t tokens = 0;
    std::vector<std::int64_t> ids;
    ids.reserve(chunks.size());
    for (const StoredChunk& chunk : chunks) {
      if (static_cast<int>(chunk.embedding.size()) != dimension) return make_error_code(Errc::internal);
      const pqxx::result inserted = tx.exec_params(
          "INSERT INTO document_chunks (document_id, domain_uuid, ordinal, page, heading, text, token_count, "
          "embedding_model, dimension, embedding) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, "
          "$10) "
          "RETURNING chunk_id",
          document_id, domain, chunk.ordinal, chunk.page, chunk.heading, chunk.text, chunk.token_count, model,
          dimension, embedding_bytes(chunk.embedding));
      ids.push_back(inserted[0][0].as<std::int64_t>());
      tokens += chunk.token_count;
    }
    tx.exec_params(
        "UPDATE documents SET status = 'ready', reason = NULL, lease_until = NULL, "
        "pages = $2, chunk_count = $3, token_count = $4, embedding_model = $5, updated_at = now() "
        "WHERE document_id = $1::uuid",
        document_id, pages, static_cast<int>(chunks.size()), tokens, model);
    tx.commit();
    return std::optional<std::vector<std::int64_t>>(std::move(ids));
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<void>> DocumentRepository::fail(std::string document_id, std::string reason) {
  auto work = [document_id = std::move(document_id), reason = std::move(reason)](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params("DELETE FROM document_chunks WHERE document_id = $1::uuid", document_id);
    tx.exec_params(
        "UPDATE documents SET status = 'failed', reason = $2, lease_until = NULL, "
        "chunk_count = 0, token_count = 0, updated_at = now() WHERE document_id = $1::uuid",
        document_id, reason);
    tx.commit();
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<void>> DocumentRepository::release(std::string document_id,
                                                                 std::chrono::milliseconds retry_after) {
  auto work = [document_id = std::move(document_id), retry_after](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params("UPDATE documents SET lease_until = now() + $2::interval WHERE document_id = $1::uuid",
                   document_id, lease_interval(retry_after));
    tx.commit();
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<std::vector<ChunkVector>>> DocumentRepository::vectors(
    std::string domain_uuid, std::string model, std::int64_t after_chunk_id, int page_size) {
  auto work = [domain_uuid = std::move(domain_uuid), model = std::move(model), after_chunk_id,
               page_size](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const pqxx::result res = tx.exec_params(
        "SELECT k.chunk_id, k.document_id::text, coalesce(d.secretary_id::text, ''), k.embedding "
        "FROM document_chunks k JOIN documents d USING (document_id) "
        "WHERE k.domain_uuid = $1::uuid AND k.embedding_model = $2 AND k.chunk_id > $3 "
        "ORDER BY k.chunk_id LIMIT $4",
        domain_uuid, model, after_chunk_id, page_size);
    std::vector<ChunkVector> out;
    out.reserve(res.size());
    for (const auto& row : res) {
      out.push_back({row[0].as<std::int64_t>(), row[1].c_str(), row[2].c_str(), embedding_from(row[3])});
    }
    return out;
  };
  co_return co_await db_.impl().run(std::move(work));
}

boost::asio::awaitable<Result<std::vector<ChunkText>>> DocumentRepository::chunk_texts(
    std::string domain_uuid, std::vector<std::int64_t> chunk_ids) {
  if (chunk_ids.empty()) co_return std::vector<ChunkText>{};
  auto work = [domain_uuid = std::move(domain_uuid), chunk_ids = std::move(chunk_ids)](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::string ids = "{";
    for (std::size_t i = 0; i < chunk_ids.size(); ++i) {
      if (i > 0) ids += ',';
      ids += std::to_string(chunk_ids[i]);
    }
    ids += '}';
    const pqxx::result res = tx.exec_params(
        "SELECT k.chunk_id, k.document_id::text, d.title, k.page, k.heading, k.text "
        "FROM document_chunks k JOIN documents d USING (document_id) "
        "WHERE k.domain_uuid = $1::uuid AND k.chunk_id = ANY($2::bigint[])",
        domain_uuid, ids);
    std::vector<ChunkText> out;
    out.reserve(res.size());
    for (const auto& row : res) {
      out.push_back({row[0].as<std::int64_t>(), row[1].c_str(), row[2].c_str(), row[3].as<int>(),
                     row[4].c_str(), row[5].c_str()});
    }
    return out;
  };
  co_return co_await db_.impl().run(std::move(work));
}

}  // namespace ivr::store
