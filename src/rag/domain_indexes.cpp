#include "ivr/rag/domain_indexes.hpp"

#include <limits>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ivr/core/logging.hpp"
#include "ivr/core/offload.hpp"
#include "ivr/store/documents.hpp"

namespace ivr::rag {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct DomainIndexes::Entry {
  std::shared_ptr<VectorIndex> index;  // null until the first load succeeds
  bool loading = false;
  bool dirty = false;                                 // changed while loading: load again before publishing
  std::unique_ptr<asio::steady_timer> loaded_signal;  // waiters of a load; cancelled when it ends
  boost::system::error_code load_error;
  std::size_t bytes = 0;  // index->memory_bytes(), computed on the worker pool
  Clock::time_point used = Clock::now();
};

DomainIndexes::DomainIndexes(asio::thread_pool& pool, store::DocumentRepository& documents,
                             DomainIndexesOptions options)
    : pool_(pool), documents_(documents), options_(std::move(options)) {}

DomainIndexes::~DomainIndexes() = default;

asio::awaitable<Result<std::shared_ptr<VectorIndex>>> DomainIndexes::get(std::string domain_uuid) {
  const auto now = Clock::now();
  // Idle indexes are swept at most once a second, not scanned on every search.
  if (now - last_sweep_ > std::chrono::seconds(1)) {
    last_sweep_ = now;
    for (auto it = entries_.begin(); it != entries_.end();) {
      const bool idle = !it->second->loading && now - it->second->used > options_.idle;
      it = idle && it->first != domain_uuid ? entries_.erase(it) : std::next(it);
    }
  }

  auto found = entries_.find(domain_uuid);
  if (found != entries_.end()) {
    std::shared_ptr<Entry> entry = found->second;
    entry->used = now;
    if (!entry->loading) co_return entry->index;
    // Someone else is loading it: wait for the end of that load.
    boost::system::error_code ignored;
    auto wait = asio::redirect_error(asio::use_awaitable, ignored);
    co_await entry->loaded_signal->async_wait(wait);
    if (entry->index) co_return entry->index;
    co_return entry->load_error;
  }

  auto entry = std::make_shared<Entry>();
  entry->loading = true;
  auto executor = co_await asio::this_coro::executor;
  entry->loaded_signal = std::make_unique<asio::steady_timer>(executor);
  entry->loaded_signal->expires_at(asio::steady_timer::time_point::max());
  entries_[domain_uuid] = entry;

  Result<std::shared_ptr<VectorIndex>> loaded;
  do {
    entry->dirty = false;
    loaded = co_await load(domain_uuid);
  } while (loaded && entry->dirty);
  entry->loading = false;
  if (loaded) {
    entry->index = *loaded;
    auto measure = [index = *loaded] { return index->memory_bytes(); };  // GCC 12: no lambda in co_await
    entry->bytes = co_await offload(pool_, std::move(measure));
    entry->used = Clock::now();
    evict(domain_uuid);
  } else {
    entry->load_error = loaded.error();
    auto current = entries_.find(domain_uuid);
    if (current != entries_.end() && current->second == entry) entries_.erase(current);
  }
  entry->loaded_signal->cancel();
  co_return loaded;
}

asio::awaitable<Result<std::shared_ptr<VectorIndex>>> DomainIndexes::load(std::string domain_uuid) {
  auto index = std::make_shared<VectorIndex>(options_.index);
  std::int64_t after = 0;
  ++loads_;
  for (;;) {
    Result<std::vector<store::ChunkVector>> page =
        co_await documents_.vectors(domain_uuid, options_.model, after, options_.load_page_rows);
    if (!page) co_return page.error();
    if (page->empty()) break;
    after = page->back().chunk_id;
    const bool last = static_cast<int>(page->size()) < options_.load_page_rows;
    std::vector<IndexedVector> vectors;
    vectors.reserve(page->size());
    for (auto& v : *page) {
      vectors.push_back(
          {v.chunk_id, std::move(v.document_id), std::move(v.secretary_id), std::move(v.embedding)});
    }
    auto add = [index, vectors = std::move(vectors)] { index->add(vectors); };
    co_await offload(pool_, std::move(add));
    if (last) break;
  }
  module_logger("rag")->debug("index of domain {} loaded: {} vectors ({})", domain_uuid, index->size(),
                              index->is_hnsw() ? "hnsw" : "flat");
  co_return index;
}

asio::awaitable<void> DomainIndexes::add(std::string domain_uuid, std::vector<IndexedVector> vectors) {
  auto found = entries_.find(domain_uuid);
  if (found == entries_.end()) co_return;
  std::shared_ptr<Entry> entry = found->second;
  if (entry->loading) {
    entry->dirty = true;
    co_return;
  }
  auto work = [index = entry->index, vectors = std::move(vectors)] {
    index->add(vectors);
    return index->memory_bytes();
  };
  entry->bytes = co_await offload(pool_, std::move(work));
  evict(domain_uuid);
}

asio::awaitable<void> DomainIndexes::remove(std::string domain_uuid, std::string document_id) {
  auto found = entries_.find(domain_uuid);
  if (found == entries_.end()) co_return;
  std::shared_ptr<Entry> entry = found->second;
  if (entry->loading) {
    entry->dirty = true;
    co_return;
  }
  auto work = [index = entry->index, document_id = std::move(document_id)] {
    index->remove_document(document_id);
    return index->memory_bytes();
  };
  entry->bytes = co_await offload(pool_, std::move(work));
}

void DomainIndexes::drop(const std::string& domain_uuid) {
  auto found = entries_.find(domain_uuid);
  if (found == entries_.end()) return;
  if (found->second->loading) {
    found->second->dirty = true;  // the load in progress may have missed the change
  } else {
    entries_.erase(found);
  }
}

void DomainIndexes::evict(const std::string& keep) {
  for (;;) {
    std::size_t total = 0;
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      total += it->second->bytes;
      if (it->first == keep || it->second->loading) continue;
      if (oldest == entries_.end() || it->second->used < oldest->second->used) oldest = it;
    }
    if (total <= options_.memory_budget_bytes || oldest == entries_.end()) return;
    module_logger("rag")->info("index of domain {} evicted ({} KiB; loaded indexes over the memory budget)",
                               oldest->first, oldest->second->bytes / 1024);
    entries_.erase(oldest);
  }
}

std::size_t DomainIndexes::loaded() const {
  std::size_t n = 0;
  for (const auto& [domain, entry] : entries_) n += entry->index ? 1 : 0;
  return n;
}

std::size_t DomainIndexes::memory_bytes() const {
  std::size_t total = 0;
  for (const auto& [domain, entry] : entries_) total += entry->bytes;
  return total;
}

}  // namespace ivr::rag
