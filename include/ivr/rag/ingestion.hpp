#pragma once
// Background ingestion of uploaded documents: claim a job (store::DocumentRepository::claim), extract,
// normalise and chunk it on the worker pool, embed the chunks, store them and mark the document ready (or
// failed with the reason an admin can act on), then update the loaded index and tell other instances.
//
// At most `concurrency` documents at a time, on a worker pool of their own: calls never wait behind an
// ingestion. Nothing is lost across a crash: a job is a `processing` row with a lease; when its worker
// dies, the lease runs out and this or another instance takes it over (documents left `processing` are
// thus resumed at start-up). Transient embedding failures give the job back for a later retry;
// max_attempts of them mark the document failed.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/knowledge/chunker.hpp"
#include "ivr/knowledge/extract_error.hpp"
#include "ivr/knowledge/extractors.hpp"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio
namespace ivr::store {
class DocumentRepository;
struct IngestionJob;
}  // namespace ivr::store
namespace ivr::knowledge {
class Embedder;
}

namespace ivr::rag {

class DomainIndexes;

struct PreparedDocument {
  std::optional<int> pages;  // PDF: pages with text
  std::vector<knowledge::Chunk> chunks;
};

// Bytes → chunks: sniff, extract, normalise, chunk. Pure and blocking (run it on a worker thread).
// Errors carry the reason stored with a failed document.
knowledge::ExtractResult<PreparedDocument> prepare_document(std::string_view bytes,
                                                            const knowledge::ExtractLimits& limits,
                                                            const knowledge::ChunkerOptions& chunker);

// How a job's bytes become chunks: prepare_document() in this process (tests, benchmarks) or in a
// sandboxed child (the daemon: sandbox.hpp). Runs on a worker thread. An error with code Errc::internal is
// transient (the extractor could not be started): the job is retried later rather than failed.
using PrepareFunction = std::function<knowledge::ExtractResult<PreparedDocument>(
    std::string_view bytes, const knowledge::ExtractLimits& limits,
    const knowledge::ChunkerOptions& chunker)>;

struct IngestionOptions {
  int concurrency = 1;
  std::chrono::milliseconds poll_interval{2'000};
  std::chrono::milliseconds lease{60'000};
  int max_attempts = 5;
  std::size_t embedding_batch = 64;
  knowledge::ExtractLimits limits;
  knowledge::ChunkerOptions chunker;
  PrepareFunction prepare;  // empty: prepare_document() in this process
};

class IngestionWorker {
 public:
  // Called on the io thread after a document of the domain became ready, failed or was re-embedded.
  using ChangeListener = std::function<void(const std::string& domain_uuid)>;

  // `pool` runs extraction and local embedding; all references must outlive the worker. io thread only.
  IngestionWorker(boost::asio::io_context& io, boost::asio::thread_pool& pool,
                  store::DocumentRepository& documents, DomainIndexes& indexes, knowledge::Embedder& embedder,
                  IngestionOptions options, ChangeListener on_change = {});
  ~IngestionWorker();

  void start();
  // A document was uploaded: look for work now rather than at the next poll.
  void wake();
  // Stops claiming and waits up to `grace` for the jobs in flight (an unfinished one is taken over later).
  boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);

  std::size_t in_flight() const { return in_flight_; }
  std::size_t completed() const { return completed_; }
  std::size_t failed() const { return failed_; }

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> process(store::IngestionJob job);
  boost::asio::awaitable<std::optional<std::vector<std::vector<float>>>> embed(
      const store::IngestionJob& job, const std::vector<knowledge::Chunk>& chunks, std::string& error);

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  store::DocumentRepository& documents_;
  DomainIndexes& indexes_;
  knowledge::Embedder& embedder_;
  IngestionOptions options_;
  ChangeListener on_change_;
  struct Wakeup;  // the poll timer, cancelled by wake()
  std::unique_ptr<Wakeup> wakeup_;
  bool running_ = false;
  bool loop_active_ = false;
  std::size_t in_flight_ = 0;
  std::size_t completed_ = 0;
  std::size_t failed_ = 0;
};

}  // namespace ivr::rag
