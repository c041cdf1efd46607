#include "ivr/rag/vector_index.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include <omp.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>

#include "ivr/core/logging.hpp"
#include "simd_dot.hpp"

namespace ivr::rag {
namespace {

constexpr std::uint32_t kNoSecretary = 0;

// What FAISS's position `i` is, in our terms. Documents and secretaries are interned to small numbers.
struct Slot {
  std::int64_t chunk_id;
  std::uint32_t document;
  std::uint32_t secretary;  // kNoSecretary: domain-wide
  bool dead;
};

// Lets FAISS skip dead vectors and other secretaries' documents while it searches (flat and HNSW honour
// SearchParameters::sel), so top_k is filled with visible vectors only.
struct VisibleSelector final : faiss::IDSelector {
  const std::vector<Slot>* slots = nullptr;
  std::optional<std::uint32_t> secretary;  // nullopt: all; else this one or domain-wide
  bool is_member(faiss::Index::idx_t id) const override {
    const Slot& s = (*slots)[static_cast<std::size_t>(id)];
    if (s.dead) return false;
    return !secretary || s.secretary == kNoSecretary || s.secretary == *secretary;
  }
};

// Inner products with our SIMD dot (simd_dot.hpp) instead of the generic build's scalar loop: HNSW spends
// nearly all of its build and search time here.
struct FastInnerProduct final : faiss::FlatCodesDistanceComputer {
  FastInnerProduct(const float* vectors, std::size_t dimension)
      : faiss::FlatCodesDistanceComputer(reinterpret_cast<const std::uint8_t*>(vectors),
                                         dimension * sizeof(float)),
        vectors(vectors),
        dimension(dimension) {}
  void set_query(const float* x) override { query = x; }
  float distance_to_code(const std::uint8_t* code) override {
    return detail::dot_product(query, reinterpret_cast<const float*>(code), dimension);
  }
  float symmetric_dis(faiss::Index::idx_t i, faiss::Index::idx_t j) override {
    return detail::dot_product(vectors + i * dimension, vectors + j * dimension, dimension);
  }
  const float* vectors;
  std::size_t dimension;
  const float* query = nullptr;
};

// Flat inner-product storage whose distance computer is FastInnerProduct (used as HNSW's storage too).
struct FastFlatIP final : faiss::IndexFlatIP {
  explicit FastFlatIP(int dimension) : faiss::IndexFlatIP(dimension) {}
  faiss::FlatCodesDistanceComputer* get_FlatCodesDistanceComputer() const override {
    return new FastInnerProduct(get_xb(), static_cast<std::size_t>(d));
  }
};

class Interner {
 public:
  std::uint32_t intern(const std::string& key) {
    auto [it, inserted] = ids_.try_emplace(key, static_cast<std::uint32_t>(names_.size() + first_));
    if (inserted) names_.push_back(key);
    return it->second;
  }
  std::optional<std::uint32_t> find(std::string_view key) const {
    auto it = ids_.find(std::string(key));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  const std::string& name(std::uint32_t id) const { return names_[id - first_]; }
  explicit Interner(std::uint32_t first) : first_(first) {}
  std::size_t memory_bytes() const {
    std::size_t bytes = 0;
    for (const auto& n : names_) bytes += 2 * (n.capacity() + sizeof(std::string)) + 16;
    return bytes;
  }

 private:
  std::uint32_t first_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::string> names_;
};

}  // namespace

class VectorIndex::Impl {
 public:
  explicit Impl(VectorIndexOptions o) : options_(o) {
    options_.dimension = std::max(1, options_.dimension);
    index_ = make_index(false);
  }

  std::size_t add(std::span<const IndexedVector> vectors) {
    std::unique_lock lock(mutex_);
    std::vector<float> batch;
    batch.reserve(vectors.size() * static_cast<std::size_t>(options_.dimension));
    std::size_t added = 0;
    for (const auto& v : vectors) {
      if (static_cast<int>(v.embedding.size()) != options_.dimension) continue;
      batch.insert(batch.end(), v.embedding.begin(), v.embedding.end());
      const std::uint32_t secretary =
          v.secretary_id.empty() ? kNoSecretary : secretaries_.intern(v.secretary_id);
      slots_.push_back({v.chunk_id, documents_.intern(v.document_id), secretary, false});
      ++added;
    }
    if (added == 0) return 0;
    index_->add(static_cast<faiss::Index::idx_t>(added), batch.data());
    published_size_.store(live(), std::memory_order_release);
    if (!hnsw_ && !rebuilding_ && live() >= options_.hnsw_threshold) {
      // Crossing the threshold: the graph is built over everything held (this batch included).
      rebuild(lock, true);
    }
    return added;
  }

  std::size_t remove_document(std::string_view document_id) {
    std::unique_lock lock(mutex_);
    const auto doc = documents_.find(document_id);
    if (!doc) return 0;
    std::size_t removed = 0;
    for (Slot& s : slots_) {
      if (!s.dead && s.document == *doc) {
        s.dead = true;
        ++removed;
      }
    }
    dead_ += removed;
    published_size_.store(live(), std::memory_order_release);
    if (dead_ > 0 && dead_ * 4 >= slots_.size() && !rebuilding_) {
      // Compaction: without the dead vectors, and flat again if the domain shrank below half the threshold.
      rebuild(lock, hnsw_ && live() * 2 >= options_.hnsw_threshold);
    }
    return removed;
  }

  std::vector<IndexHit> search(std::span<const float> query, int top_k,
                               std::optional<std::string_view> secretary_id) const {
    // One query is too little work to share: FAISS's OpenMP team would only add barrier waits (costly on a
    // busy 2-core machine). Concurrency comes from searching several queries on the worker pool.
    omp_set_num_threads(1);
    std::shared_lock lock(mutex_);
    std::vector<IndexHit> hits;
    if (top_k <= 0 || static_cast<int>(query.size()) != options_.dimension || live() == 0) return hits;
    VisibleSelector selector;
    selector.slots = &slots_;
    if (secretary_id) {
      // A secretary with no documents of its own still sees the domain-wide ones.
      selector.secretary = secretaries_.find(*secretary_id).value_or(~std::uint32_t{0});
    }
    // The selector costs a virtual call per candidate (and takes FAISS off its fastest paths): only when
    // something must be skipped.
    const bool filtered = secretary_id.has_value() || dead_ > 0;
    const faiss::Index::idx_t k =
        std::min<faiss::Index::idx_t>(top_k, static_cast<faiss::Index::idx_t>(live()));
    std::vector<float> scores(static_cast<std::size_t>(k));
    std::vector<faiss::Index::idx_t> labels(static_cast<std::size_t>(k), -1);
    if (hnsw_) {
      faiss::SearchParametersHNSW params;
      params.sel = filtered ? &selector : nullptr;
      params.efSearch = std::max<int>(options_.hnsw_ef_search, static_cast<int>(k));
      index_->search(1, query.data(), k, scores.data(), labels.data(), &params);
    } else {
      exact_search(query, k, filtered ? &selector : nullptr, scores, labels);
    }
    for (faiss::Index::idx_t i = 0; i < k; ++i) {
      const faiss::Index::idx_t label = labels[static_cast<std::size_t>(i)];
      if (label < 0 || !selector.is_member(label)) continue;  // fewer visible than k
      const Slot& s = slots_[static_cast<std::size_t>(label)];
      hits.push_back({s.chunk_id, documents_.name(s.document), scores[static_cast<std::size_t>(i)]});
    }
    return hits;
  }

  std::size_t size() const {
    std::shared_lock lock(mutex_);
    return live();
  }
  std::size_t published_size() const { return published_size_.load(std::memory_order_acquire); }
  bool is_hnsw() const {
    std::shared_lock lock(mutex_);
    return hnsw_;
  }
  int dimension() const { return options_.dimension; }

  std::size_t memory_bytes() const {
    std::shared_lock lock(mutex_);
    std::size_t bytes =
        slots_.capacity() * sizeof(Slot) + documents_.memory_bytes() + secretaries_.memory_bytes();
    if (hnsw_) {
      const auto* h = static_cast<const faiss::IndexHNSW*>(index_.get());
      const auto* storage = static_cast<const faiss::IndexFlat*>(h->storage);
      bytes += storage->codes.capacity();
      bytes += h->hnsw.neighbors.capacity() * sizeof(faiss::HNSW::storage_idx_t);
      bytes += h->hnsw.offsets.capacity() * sizeof(std::size_t);
      bytes += h->hnsw.levels.capacity() * sizeof(int);
    } else {
      bytes += static_cast<const faiss::IndexFlat*>(index_.get())->codes.capacity();
    }
    return bytes;
  }

 private:
  std::size_t live() const { return slots_.size() - dead_; }
  // live() as of the end of the last add or removal, for readers that must not wait for the lock.
  std::atomic<std::size_t> published_size_{0};

  // Exact top-k by scanning every stored vector (what IndexFlatIP::search does, with the faster dot and
  // without its per-query allocations).
  void exact_search(std::span<const float> query, faiss::Index::idx_t k, const faiss::IDSelector* selector,
                    std::vector<float>& scores, std::vector<faiss::Index::idx_t>& labels) const {
    const std::size_t d = static_cast<std::size_t>(options_.dimension);
    const float* xb = stored_vectors();
    // A min-heap of the best k so far: its top is the score to beat.
    std::vector<std::pair<float, faiss::Index::idx_t>> heap;
    heap.reserve(static_cast<std::size_t>(k));
    const auto worse = [](const auto& a, const auto& b) { return a.first > b.first; };
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (selector != nullptr && !selector->is_member(static_cast<faiss::Index::idx_t>(i))) continue;
      const float score = detail::dot_product(query.data(), xb + i * d, d);
      if (heap.size() < static_cast<std::size_t>(k)) {
        heap.emplace_back(score, static_cast<faiss::Index::idx_t>(i));
        std::push_heap(heap.begin(), heap.end(), worse);
      } else if (score > heap.front().first) {
        std::pop_heap(heap.begin(), heap.end(), worse);
        heap.back() = {score, static_cast<faiss::Index::idx_t>(i)};
        std::push_heap(heap.begin(), heap.end(), worse);
      }
    }
    std::sort_heap(heap.begin(), heap.end(), worse);  // best first
    for (std::size_t i = 0; i < heap.size(); ++i) {
      scores[i] = heap[i].first;
      labels[i] = heap[i].second;
    }
  }

  std::unique_ptr<faiss::Index> make_index(bool hnsw) const {
    if (!hnsw) return std::make_unique<FastFlatIP>(options_.dimension);
    auto index = std::make_unique<faiss::IndexHNSW>(new FastFlatIP(options_.dimension), options_.hnsw_m);
    index->own_fields = true;
    index->hnsw.efConstruction = options_.hnsw_ef_construction;
    index->hnsw.efSearch = options_.hnsw_ef_search;
    return index;
  }

  const float* stored_vectors() const {
    if (hnsw_) {
      const auto* h = static_cast<const faiss::IndexHNSW*>(index_.get());
      return static_cast<const faiss::IndexFlat*>(h->storage)->get_xb();
    }
    return static_cast<const faiss::IndexFlat*>(index_.get())->get_xb();
  }

  // Replaces the FAISS index by a new one (`to_hnsw` or flat) over the live vectors. Building an HNSW graph
  // takes seconds at tens of thousands of vectors, so it runs without the lock: searches go on against the
  // old index meanwhile, and adds and removals made during the build are carried over at the swap (adds go
  // to the old index too; removals only mark slots). Called with `lock` held; returns with it held. One
  // rebuild at a time (rebuilding_); both indexes are held in memory until the swap.
  void rebuild(std::unique_lock<std::shared_mutex>& lock, bool to_hnsw) {
    rebuilding_ = true;
    const std::size_t d = static_cast<std::size_t>(options_.dimension);
    const std::size_t snapshot = slots_.size();
    std::vector<std::size_t> kept;  // positions of the live slots at the snapshot, in order
    kept.reserve(live());
    std::vector<float> vectors;
    vectors.reserve(live() * d);
    const float* xb = stored_vectors();
    for (std::size_t i = 0; i < snapshot; ++i) {
      if (slots_[i].dead) continue;
      kept.push_back(i);
      vectors.insert(vectors.end(), xb + i * d, xb + (i + 1) * d);
    }
    lock.unlock();

    std::unique_ptr<faiss::Index> fresh;
    try {
      if (options_.rebuild_hook) options_.rebuild_hook();
      fresh = make_index(to_hnsw);
      if (!kept.empty()) fresh->add(static_cast<faiss::Index::idx_t>(kept.size()), vectors.data());
    } catch (const std::exception& e) {
      // Out of memory, most likely. The change that triggered the rebuild is already in the old index,
      // which stays and serves; a later add or removal tries again. Nothing to report to the caller.
      module_logger("rag")->warn("knowledge index rebuild ({} vectors, {}) failed, the old index stays: {}",
                                 kept.size(), to_hnsw ? "hnsw" : "flat", e.what());
      lock.lock();
      rebuilding_ = false;
      return;
    }
    vectors = std::vector<float>();

    lock.lock();
    // Slots as they are now: removals since the snapshot show as dead flags; slots added since then are
    // appended, with their vectors (from the old index, which took them).
    std::vector<Slot> slots;
    slots.reserve(kept.size() + slots_.size() - snapshot);
    for (std::size_t i : kept) slots.push_back(slots_[i]);
    if (slots_.size() > snapshot) {
      xb = stored_vectors();
      fresh->add(static_cast<faiss::Index::idx_t>(slots_.size() - snapshot), xb + snapshot * d);
      slots.insert(slots.end(), slots_.begin() + static_cast<std::ptrdiff_t>(snapshot), slots_.end());
    }
    slots_ = std::move(slots);
    dead_ = static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.dead; }));
    index_ = std::move(fresh);
    hnsw_ = to_hnsw;
    rebuilding_ = false;
    published_size_.store(live(), std::memory_order_release);
  }

  VectorIndexOptions options_;
  mutable std::shared_mutex mutex_;
  std::unique_ptr<faiss::Index> index_;
  bool hnsw_ = false;
  bool rebuilding_ = false;  // a rebuild() is building outside the lock
  std::vector<Slot> slots_;  // FAISS label i ↔ slots_[i]
  std::size_t dead_ = 0;
  Interner documents_{0};
  Interner secretaries_{1};  // 0 is kNoSecretary
};

VectorIndex::VectorIndex(VectorIndexOptions options) : impl_(std::make_unique<Impl>(options)) {}
VectorIndex::~VectorIndex() = default;
std::size_t VectorIndex::add(std::span<const IndexedVector> vectors) {
  return impl_->add(vectors);
}
std::size_t VectorIndex::remove_document(std::string_view id) {
  return impl_->remove_document(id);
}
std::vector<IndexHit> VectorIndex::search(std::span<const float> query, int top_k,
                                          std::optional<std::string_view> secretary_id) const {
  return impl_->search(query, top_k, secretary_id);
}
std::size_t VectorIndex::size() const {
  return impl_->size();
}
std::size_t VectorIndex::published_size() const {
  return impl_->published_size();
}
bool VectorIndex::is_hnsw() const {
  return impl_->is_hnsw();
}
std::size_t VectorIndex::memory_bytes() const {
  return impl_->memory_bytes();
}
int VectorIndex::dimension() const {
  return impl_->dimension();
}

}  // namespace ivr::rag
