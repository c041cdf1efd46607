#include "ivr/rag/ingestion.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ivr/core/logging.hpp"
#include "ivr/core/offload.hpp"
#include "ivr/knowledge/document_type.hpp"
#include "ivr/knowledge/embedder.hpp"
#include "ivr/knowledge/normalize_text.hpp"
#include "ivr/rag/domain_indexes.hpp"
#include "ivr/store/documents.hpp"

namespace ivr::rag {

namespace asio = boost::asio;

struct IngestionWorker::Wakeup {
  asio::steady_timer timer;
};

knowledge::ExtractResult<PreparedDocument> prepare_document(std::string_view bytes,
                                                            const knowledge::ExtractLimits& limits,
                                                            const knowledge::ChunkerOptions& chunker) {
  auto sections = knowledge::extract_document(bytes, limits);
  if (!sections) return sections.error();
  PreparedDocument out;
  const auto type = knowledge::sniff_document_type(bytes);
  if (type && *type == knowledge::DocumentType::pdf) {
    int pages = 0;
    for (const auto& s : *sections) pages = std::max(pages, s.page);
    out.pages = pages;
  }
  std::vector<knowledge::Section> normalized = knowledge::normalize_sections(std::move(*sections));
  out.chunks = knowledge::chunk_sections(normalized, chunker);
  if (out.chunks.empty()) return knowledge::extract_error(Errc::unprocessable, "the document has no text");
  return out;
}

IngestionWorker::IngestionWorker(asio::io_context& io, asio::thread_pool& pool,
                                 store::DocumentRepository& documents, DomainIndexes& indexes,
                                 knowledge::Embedder& embedder, IngestionOptions options,
                                 ChangeListener on_change)
    : io_(io),
      pool_(pool),
      documents_(documents),
      indexes_(indexes),
      embedder_(embedder),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      wakeup_(std::make_unique<Wakeup>(Wakeup{asio::steady_timer(io)})) {
  options_.concurrency = std::max(1, options_.concurrency);
  options_.embedding_batch = std::max<std::size_t>(1, options_.embedding_batch);
}

IngestionWorker::~IngestionWorker() = default;

void IngestionWorker::start() {
  if (running_) return;
  running_ = true;
  loop_active_ = true;
  asio::co_spawn(io_, run(), asio::detached);
}

void IngestionWorker::wake() {
  wakeup_->timer.cancel();
}

asio::awaitable<void> IngestionWorker::stop(std::chrono::milliseconds grace) {
  running_ = false;
  wakeup_->timer.cancel();
  asio::steady_timer timer(io_);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while ((in_flight_ > 0 || loop_active_) && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  if (in_flight_ > 0) {
    module_logger("rag")->warn(
        "{} document(s) still being ingested at shutdown; they resume after their lease", in_flight_);
  }
}

asio::awaitable<void> IngestionWorker::run() {
  auto log = module_logger("rag");
  const std::string model = embedder_.model();
  while (running_) {
    while (running_ && in_flight_ < static_cast<std::size_t>(options_.concurrency)) {
      Result<std::optional<store::IngestionJob>> job = co_await documents_.claim(model, options_.lease);
      if (!job) {
        log->warn("cannot look for documents to ingest: {}", job.error().message());
        break;
      }
      if (!*job) break;
      ++in_flight_;
      asio::co_spawn(io_, process(std::move(**job)), asio::detached);
    }
    if (!running_) break;
    wakeup_->timer.expires_after(options_.poll_interval);
    boost::system::error_code ignored;
    co_await wakeup_->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  loop_active_ = false;
}

asio::awaitable<std::optional<std::vector<std::vector<float>>>> IngestionWorker::embed(
    const store::IngestionJob& job, const std::vector<knowledge::Chunk>& chunks, std::string& error) {
  std::vector<std::vector<float>> vectors;
  vectors.reserve(chunks.size());
  // Local embedders answer embed_now(); their work is CPU, so it goes to the worker pool.
  const bool local = embedder_.embed_now({}).has_value();
  for (std::size_t begin = 0; begin < chunks.size(); begin += options_.embedding_batch) {
    const std::size_t end = std::min(chunks.size(), begin + options_.embedding_batch);
    std::vector<std::string> texts;
    texts.reserve(end - begin);
    for (std::size_t i = begin; i < end; ++i) texts.push_back(chunks[i].text);
    Result<std::vector<std::vector<float>>> batch;
    if (local) {
      auto compute = [this, texts = std::move(texts)] { return *embedder_.embed_now(texts); };
      batch = co_await offload(pool_, std::move(compute));
    } else {
      batch = co_await embedder_.embed(std::move(texts));
    }
    if (!batch) {
      error = "the embedding provider failed (" + batch.error().message() + ")";
      co_return std::nullopt;
    }
    if (batch->size() != end - begin) {
      error = "the embedding provider returned " + std::to_string(batch->size()) + " vectors for " +
              std::to_string(end - begin) + " texts";
      co_return std::nullopt;
    }
    for (auto& v : *batch) vectors.push_back(std::move(v));
    // Long documents: keep the claim alive between batches.
    Result<bool> renewed = co_await documents_.renew(job.document.id, options_.lease);
    if (renewed && !*renewed) {
      error = "deleted";
      co_return std::nullopt;
    }
  }
  co_return vectors;
}

asio::awaitable<void> IngestionWorker::process(store::IngestionJob job) {
  auto log = module_logger("rag");
  const store::DocumentRecord& doc = job.document;
  const auto started = std::chrono::steady_clock::now();
  const std::string model = embedder_.model();
  bool changed = false;

  auto prepare = [content = std::move(job.content), limits = options_.limits, chunker = options_.chunker,
                  fn = options_.prepare]() -> knowledge::ExtractResult<PreparedDocument> {
    try {
      return fn ? fn(content, limits, chunker) : prepare_document(content, limits, chunker);
    } catch (const std::bad_alloc&) {
      return knowledge::extract_error(Errc::unprocessable, "the document needs too much memory to extract");
    } catch (const std::exception& e) {
      return knowledge::extract_error(Errc::internal, e.what());
    }
  };
  knowledge::ExtractResult<PreparedDocument> prepared = co_await offload(pool_, std::move(prepare));
  if (!prepared && prepared.error().code == Errc::internal && doc.attempts < options_.max_attempts) {
    const auto retry = std::min<std::chrono::milliseconds>(
        options_.poll_interval * (1 << std::min(doc.attempts, 10)), std::chrono::minutes(10));
    log->error("document {}: {}; retrying in {} s", doc.id, prepared.error().reason, retry.count() / 1000);
    Result<void> released = co_await documents_.release(doc.id, retry);
    if (!released) log->warn("cannot release document {}: {}", doc.id, released.error().message());
  } else if (!prepared) {
    log->info("document {} of domain {} failed: {}", doc.id, doc.domain_uuid, prepared.error().reason);
    Result<void> marked = co_await documents_.fail(doc.id, prepared.error().reason);
    if (!marked) log->warn("cannot mark document {} failed: {}", doc.id, marked.error().message());
    ++failed_;
    changed = doc.status == "ready";
  } else {
    std::string error;
    std::optional<std::vector<std::vector<float>>> vectors = co_await embed(job, prepared->chunks, error);
    if (!vectors && error == "deleted") {
      log->info("document {} was deleted while being ingested", doc.id);
    } else if (!vectors) {
      if (doc.attempts >= options_.max_attempts) {
        log->warn("document {} failed after {} attempts: {}", doc.id, doc.attempts, error);
        Result<void> marked = co_await documents_.fail(doc.id, error);
        if (!marked) log->warn("cannot mark document {} failed: {}", doc.id, marked.error().message());
        ++failed_;
      } else {
        // Backoff doubles per attempt: a provider outage is not hammered.
        const auto retry = std::min<std::chrono::milliseconds>(
            options_.poll_interval * (1 << std::min(doc.attempts, 10)), std::chrono::minutes(10));
        log->warn("document {}: {}; retrying in {} s", doc.id, error, retry.count() / 1000);
        Result<void> released = co_await documents_.release(doc.id, retry);
        if (!released) log->warn("cannot release document {}: {}", doc.id, released.error().message());
      }
    } else {
      std::vector<store::StoredChunk> stored;
      stored.reserve(prepared->chunks.size());
      for (std::size_t i = 0; i < prepared->chunks.size(); ++i) {
        knowledge::Chunk& c = prepared->chunks[i];
        stored.push_back({static_cast<int>(i), c.page, std::move(c.heading), std::move(c.text),
                          static_cast<int>(c.tokens), std::move((*vectors)[i])});
      }
      Result<std::optional<std::vector<std::int64_t>>> ids =
          co_await documents_.complete(doc.id, model, embedder_.dimension(), prepared->pages, stored);
      if (!ids) {
        log->warn("cannot store the chunks of document {}: {} (retried after its lease)", doc.id,
                  ids.error().message());
      } else if (*ids) {
        std::vector<IndexedVector> indexed;
        indexed.reserve(stored.size());
        for (std::size_t i = 0; i < stored.size(); ++i) {
          indexed.push_back({(**ids)[i], doc.id, doc.secretary_id, std::move(stored[i].embedding)});
        }
        co_await indexes_.remove(doc.domain_uuid, doc.id);
        co_await indexes_.add(doc.domain_uuid, std::move(indexed));
        ++completed_;
        changed = true;
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        log->info("document {} of domain {} ready: {} chunks in {} ms", doc.id, doc.domain_uuid,
                  stored.size(), ms.count());
      }
    }
  }
  if (changed && on_change_) on_change_(doc.domain_uuid);
  --in_flight_;
  if (running_) wake();
}

}  // namespace ivr::rag
