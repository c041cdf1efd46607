#pragma once
// Knowledge-base documents and their chunks in Postgres (tables documents, document_chunks). Every method
// takes the domain and filters on it: a document id of another domain is simply not found.
// Ingestion jobs are document rows claimed with FOR UPDATE SKIP LOCKED and a lease, so any instance can
// run them and a dead instance's job is taken over once its lease runs out (DESIGN §7b).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace ivr::store {

class Database;

struct DocumentRecord {
  std::string id;
  std::string domain_uuid;
  std::string secretary_id;  // empty: every secretary of the domain
  std::string title;
  std::string filename;
  std::string doc_type;  // pdf | docx | txt
  std::int64_t size_bytes = 0;
  std::string sha256;
  std::string status;  // processing | ready | failed
  std::string reason;  // failed: why, for the admin
  std::optional<int> pages;
  int chunk_count = 0;
  std::int64_t token_count = 0;
  std::string embedding_model;
  int attempts = 0;
  std::string created_at;  // ISO 8601 UTC
  std::string updated_at;
};

struct NewDocument {
  std::string domain_uuid;
  std::string secretary_id;  // may be empty
  std::string title;
  std::string filename;
  std::string doc_type;
  std::string sha256;  // lower-case hex
  std::string content;
};

struct CreatedDocument {
  DocumentRecord document;
  bool created = false;  // false: the domain already had a document with these bytes (it is returned)
};

// A claimed ingestion job: the document and its bytes.
struct IngestionJob {
  DocumentRecord document;
  std::string content;
};

struct StoredChunk {
  int ordinal = 0;
  int page = 0;
  std::string heading;
  std::string text;
  int token_count = 0;
  std::vector<float> embedding;
};

struct ChunkVector {
  std::int64_t chunk_id = 0;
  std::string document_id;
  std::string secretary_id;  // of the document; empty = whole domain
  std::vector<float> embedding;
};

struct ChunkText {
  std::int64_t chunk_id = 0;
  std::string document_id;
  std::string document_title;
  int page = 0;
  std::string heading;
  std::string text;
};

class DocumentRepository {
 public:
  explicit DocumentRepository(Database& db) : db_(db) {}

  // Inserts a `processing` document, or returns the domain's existing one with the same sha256.
  boost::asio::awaitable<Result<CreatedDocument>> create(NewDocument document);
  boost::asio::awaitable<Result<std::vector<DocumentRecord>>> list(std::string domain_uuid);
  // not_found when the id is not one of this domain's documents (or is not a uuid).
  boost::asio::awaitable<Result<DocumentRecord>> get(std::string domain_uuid, std::string document_id);
  // Deletes the document and its chunks; not_found as for get().
  boost::asio::awaitable<Result<DocumentRecord>> remove(std::string domain_uuid, std::string document_id);

  // Claims the oldest job whose lease is free: a `processing` document, or a `ready` one whose
  // embedding_model differs from `model` (re-embedding). Sets lease_until = now + lease and counts the
  // attempt. nullopt when there is nothing to do.
  boost::asio::awaitable<Result<std::optional<IngestionJob>>> claim(std::string model,
                                                                    std::chrono::milliseconds lease);
  // Extends a claim (long documents). False when the row is gone (deleted meanwhile).
  boost::asio::awaitable<Result<bool>> renew(std::string document_id, std::chrono::milliseconds lease);
  // Replaces the document's chunks and marks it ready (lease released). Returns the new chunks' ids in
  // order, or nullopt when the document was deleted meanwhile (nothing written).
  boost::asio::awaitable<Result<std::optional<std::vector<std::int64_t>>>> complete(
      std::string document_id, std::string model, int dimension, std::optional<int> pages,
      std::vector<StoredChunk> chunks);
  // Marks the document failed with `reason` (chunks removed, lease released).
  boost::asio::awaitable<Result<void>> fail(std::string document_id, std::string reason);
  // Gives a claim back without changing the document (a transient error: retried after `retry_after`).
  boost::asio::awaitable<Result<void>> release(std::string document_id,
                                               std::chrono::milliseconds retry_after);

  // Vectors of the domain's chunks embedded with `model`, in chunk_id order, read in pages of `page_size`
  // rows after `after_chunk_id` (keyset pagination keeps each statement short).
  boost::asio::awaitable<Result<std::vector<ChunkVector>>> vectors(std::string domain_uuid, std::string model,
                                                                   std::int64_t after_chunk_id,
                                                                   int page_size);
  // The chunks of the domain with these ids (others silently skipped), with their document's title.
  boost::asio::awaitable<Result<std::vector<ChunkText>>> chunk_texts(std::string domain_uuid,
                                                                     std::vector<std::int64_t> chunk_ids);

 private:
  Database& db_;
};

}  // namespace ivr::store
