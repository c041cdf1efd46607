#include "ivr/rag/vector_index.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <new>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace ivr::rag {
namespace {

std::vector<float> normalized(std::vector<float> v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

// Random unit vectors (a fixed seed: the test is deterministic).
std::vector<std::vector<float>> random_vectors(std::size_t n, int dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss;
  std::vector<std::vector<float>> out(n);
  for (auto& v : out) {
    v.resize(static_cast<std::size_t>(dim));
    for (auto& x : v) x = gauss(rng);
    v = normalized(std::move(v));
  }
  return out;
}

std::vector<IndexedVector> as_indexed(const std::vector<std::vector<float>>& vectors, std::int64_t first_id,
                                      const std::string& document, const std::string& secretary = {}) {
  std::vector<IndexedVector> out;
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    out.push_back({first_id + static_cast<std::int64_t>(i), document, secretary, vectors[i]});
  }
  return out;
}

// Exact top-k by brute force, for recall.
std::vector<std::int64_t> exact_top(const std::vector<std::vector<float>>& base, const std::vector<float>& q,
                                    int k) {
  std::vector<std::pair<float, std::int64_t>> scored;
  for (std::size_t i = 0; i < base.size(); ++i) {
    float s = 0;
    for (std::size_t j = 0; j < q.size(); ++j) s += base[i][j] * q[j];
    scored.emplace_back(s, static_cast<std::int64_t>(i) + 1);
  }
  std::partial_sort(scored.begin(), scored.begin() + k, scored.end(), std::greater<>());
  std::vector<std::int64_t> ids;
  for (int i = 0; i < k; ++i) ids.push_back(scored[static_cast<std::size_t>(i)].second);
  return ids;
}

TEST(VectorIndexTest, FindsTheNearestVectorsBestFirstWithCosineScores) {
  VectorIndex index({.dimension = 3});
  std::vector<IndexedVector> vectors = {
      {1, "doc-a", "", normalized({1, 0, 0})},
      {2, "doc-a", "", normalized({0.9f, 0.1f, 0})},
      {3, "doc-b", "", normalized({0, 1, 0})},
  };
  EXPECT_EQ(index.add(vectors), 3u);
  const auto hits = index.search(normalized({1, 0.05f, 0}), 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].chunk_id, 1);
  EXPECT_EQ(hits[1].chunk_id, 2);
  EXPECT_EQ(hits[0].document_id, "doc-a");
  EXPECT_NEAR(hits[0].score, 0.99875f, 1e-3);
  EXPECT_GE(hits[0].score, hits[1].score);
  EXPECT_FALSE(index.is_hnsw());
}

TEST(VectorIndexTest, AskingForMoreThanItHoldsReturnsWhatThereIs) {
  VectorIndex index({.dimension = 2});
  index.add(as_indexed({normalized({1, 0}), normalized({0, 1})}, 1, "d"));
  EXPECT_EQ(index.search(normalized({1, 1}), 10).size(), 2u);
  EXPECT_TRUE(index.search(normalized({1, 1}), 0).empty());
}

TEST(VectorIndexTest, WrongDimensionsAreSkippedAndFindNothing) {
  VectorIndex index({.dimension = 3});
  std::vector<IndexedVector> vectors = {{1, "d", "", {1, 0}}, {2, "d", "", normalized({1, 0, 0})}};
  EXPECT_EQ(index.add(vectors), 1u);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_TRUE(index.search(std::vector<float>{1, 0}, 3).empty());
}

TEST(VectorIndexTest, ASecretarySeesItsOwnAndTheDomainWideDocumentsOnly) {
  VectorIndex index({.dimension = 2});
  std::vector<IndexedVector> vectors = {
      {1, "shared", "", normalized({1, 0.2f})},
      {2, "sales-only", "sales", normalized({1, 0})},
      {3, "support-only", "support", normalized({1, 0.1f})},
  };
  index.add(vectors);
  auto ids = [](const std::vector<IndexHit>& hits) {
    std::set<std::int64_t> out;
    for (const auto& h : hits) out.insert(h.chunk_id);
    return out;
  };
  EXPECT_EQ(ids(index.search(normalized({1, 0}), 10, std::string_view("sales"))),
            (std::set<std::int64_t>{1, 2}));
  EXPECT_EQ(ids(index.search(normalized({1, 0}), 10, std::string_view("support"))),
            (std::set<std::int64_t>{1, 3}));
  EXPECT_EQ(ids(index.search(normalized({1, 0}), 10, std::string_view("unknown"))),
            (std::set<std::int64_t>{1}));
  EXPECT_EQ(ids(index.search(normalized({1, 0}), 10)), (std::set<std::int64_t>{1, 2, 3}));
  // The filter applies inside the search: top 1 for sales is its own best, not an invisible one.
  const auto top = index.search(normalized({1, 0.1f}), 1, std::string_view("sales"));
  ASSERT_EQ(top.size(), 1u);
  EXPECT_NE(top[0].chunk_id, 3);
}

TEST(VectorIndexTest, RemovedDocumentsAreNeverFoundAndTheIndexShrinks) {
  VectorIndex index({.dimension = 16});
  EXPECT_EQ(index.published_size(), 0u);
  const auto a = random_vectors(30, 16, 1);
  const auto b = random_vectors(10, 16, 2);
  index.add(as_indexed(a, 1, "doc-a"));
  index.add(as_indexed(b, 100, "doc-b"));
  EXPECT_EQ(index.published_size(), 40u);
  EXPECT_EQ(index.remove_document("doc-b"), 10u);
  EXPECT_EQ(index.remove_document("doc-b"), 0u);
  EXPECT_EQ(index.remove_document("never-seen"), 0u);
  EXPECT_EQ(index.size(), 30u);
  EXPECT_EQ(index.published_size(), 30u);
  for (const auto& q : b) {
    for (const auto& h : index.search(q, 5)) EXPECT_EQ(h.document_id, "doc-a");
  }
  // Past a quarter dead the index is compacted; what is left is still found exactly.
  const std::size_t before = index.memory_bytes();
  EXPECT_EQ(index.remove_document("doc-a"), 30u);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.published_size(), 0u);
  EXPECT_LT(index.memory_bytes(), before);
  EXPECT_TRUE(index.search(a[0], 3).empty());
  index.add(as_indexed(a, 1, "doc-a"));
  const auto hits = index.search(a[7], 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].chunk_id, 8);
}

TEST(VectorIndexTest, BecomesHnswAtTheThresholdWithHighRecallAgainstExactSearch) {
  const int dim = 64;
  const auto base = random_vectors(3000, dim, 7);
  VectorIndex index({.dimension = dim, .hnsw_threshold = 2000});
  index.add(as_indexed(std::vector(base.begin(), base.begin() + 1500), 1, "d1"));
  EXPECT_FALSE(index.is_hnsw());
  index.add(as_indexed(std::vector(base.begin() + 1500, base.end()), 1501, "d2"));
  EXPECT_TRUE(index.is_hnsw());
  EXPECT_EQ(index.size(), 3000u);

  const auto queries = random_vectors(100, dim, 99);
  std::size_t found = 0;
  for (const auto& q : queries) {
    const auto truth = exact_top(base, q, 4);
    const auto hits = index.search(q, 4);
    ASSERT_EQ(hits.size(), 4u);
    for (const auto& h : hits) found += std::count(truth.begin(), truth.end(), h.chunk_id);
  }
  const double recall = static_cast<double>(found) / (4.0 * queries.size());
  EXPECT_GE(recall, 0.95) << "recall@4 " << recall;
}

TEST(VectorIndexTest, HnswHonoursRemovalAndTheSecretaryFilter) {
  const int dim = 32;
  const auto base = random_vectors(600, dim, 3);
  VectorIndex index({.dimension = dim, .hnsw_threshold = 100});
  index.add(as_indexed(std::vector(base.begin(), base.begin() + 300), 1, "shared"));
  index.add(as_indexed(std::vector(base.begin() + 300, base.end()), 301, "private", "sales"));
  ASSERT_TRUE(index.is_hnsw());
  for (int i = 300; i < 310; ++i) {
    const auto hidden = index.search(base[static_cast<std::size_t>(i)], 4, std::string_view("support"));
    ASSERT_EQ(hidden.size(), 4u);
    for (const auto& h : hidden) EXPECT_EQ(h.document_id, "shared");
    const auto visible = index.search(base[static_cast<std::size_t>(i)], 1, std::string_view("sales"));
    ASSERT_EQ(visible.size(), 1u);
    EXPECT_EQ(visible[0].chunk_id, i + 1);
  }
  index.remove_document("private");
  EXPECT_EQ(index.size(), 300u);
  for (const auto& h : index.search(base[305], 4)) EXPECT_EQ(h.document_id, "shared");
}

// Building the graph takes seconds at production sizes: searches must not wait for it, and what changes
// meanwhile must survive the swap. The hook runs on the rebuilding thread, outside the lock: it starts a
// search, an add and a removal on other threads and gives them 20 s; if the lock were held they could not
// finish before the hook returns (and the test fails instead of hanging: the threads are joined later).
TEST(VectorIndexTest, SearchesAddsAndRemovalsGoOnWhileTheGraphIsBuilt) {
  const int dim = 16;
  const auto first = random_vectors(150, dim, 11);
  const auto crossing = random_vectors(60, dim, 12);
  const auto during = random_vectors(5, dim, 13);
  const auto doomed = random_vectors(20, dim, 14);
  VectorIndex* index_ptr = nullptr;
  int hook_runs = 0;
  bool old_index_served = false;
  std::vector<std::thread> workers;
  std::promise<std::vector<IndexHit>> searched;
  std::promise<std::size_t> added, removed;
  auto search_result = searched.get_future();
  auto add_result = added.get_future();
  auto remove_result = removed.get_future();
  bool all_done_during_build = false;
  VectorIndexOptions options{.dimension = dim, .hnsw_threshold = 200};
  options.rebuild_hook = [&] {
    ++hook_runs;
    VectorIndex& index = *index_ptr;
    workers.emplace_back([&] { searched.set_value(index.search(first[3], 1)); });
    workers.emplace_back([&] { added.set_value(index.add(as_indexed(during, 1000, "during"))); });
    workers.emplace_back([&] { removed.set_value(index.remove_document("doomed")); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    all_done_during_build = search_result.wait_until(deadline) == std::future_status::ready &&
                            add_result.wait_until(deadline) == std::future_status::ready &&
                            remove_result.wait_until(deadline) == std::future_status::ready;
    // The old (flat) index serves until the swap (asked only when the lock is known to be free: taking it
    // here while this thread held it would be undefined).
    if (all_done_during_build) old_index_served = !index.is_hnsw();
  };
  VectorIndex index(options);
  index_ptr = &index;
  index.add(as_indexed(first, 1, "first"));
  index.add(as_indexed(doomed, 500, "doomed"));
  EXPECT_EQ(hook_runs, 0);
  index.add(as_indexed(crossing, 200, "crossing"));  // 230 live: crosses the threshold
  for (auto& w : workers) w.join();
  EXPECT_EQ(hook_runs, 1);
  EXPECT_TRUE(all_done_during_build);
  EXPECT_TRUE(old_index_served);
  const auto found = search_result.get();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].chunk_id, 4);
  EXPECT_EQ(add_result.get(), during.size());
  EXPECT_EQ(remove_result.get(), doomed.size());

  // After the swap: a graph over everything but the removed document, the late adds included.
  EXPECT_TRUE(index.is_hnsw());
  EXPECT_EQ(index.size(), first.size() + crossing.size() + during.size());
  for (std::size_t i = 0; i < during.size(); ++i) {
    const auto hits = index.search(during[i], 1);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].chunk_id, 1000 + static_cast<std::int64_t>(i));
    EXPECT_EQ(hits[0].document_id, "during");
  }
  for (const auto& q : doomed) {
    for (const auto& h : index.search(q, 5)) EXPECT_NE(h.document_id, "doomed");
  }
  const auto hits = index.search(crossing[7], 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].chunk_id, 207);
}

// A rebuild that fails (out of memory) costs nothing but the rebuild: the add that triggered it stands,
// the old index serves, and the next change tries again.
TEST(VectorIndexTest, AFailedRebuildKeepsTheOldIndexAndIsTriedAgain) {
  const int dim = 16;
  int attempts = 0;
  VectorIndexOptions options{.dimension = dim, .hnsw_threshold = 100};
  options.rebuild_hook = [&] {
    if (++attempts == 1) throw std::bad_alloc();
  };
  VectorIndex index(options);
  const auto first = random_vectors(120, dim, 21);
  EXPECT_EQ(index.add(as_indexed(first, 1, "first")), first.size());  // crosses the threshold: fails
  EXPECT_EQ(attempts, 1);
  EXPECT_FALSE(index.is_hnsw());
  EXPECT_EQ(index.size(), first.size());
  auto hits = index.search(first[9], 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].chunk_id, 10);

  const auto more = random_vectors(5, dim, 22);
  index.add(as_indexed(more, 500, "more"));  // the next change: built this time
  EXPECT_EQ(attempts, 2);
  EXPECT_TRUE(index.is_hnsw());
  EXPECT_EQ(index.size(), first.size() + more.size());
  hits = index.search(more[2], 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].chunk_id, 502);
}

TEST(VectorIndexTest, MemoryGrowsWithTheVectorsHeld) {
  VectorIndex index({.dimension = 384});
  const std::size_t empty = index.memory_bytes();
  index.add(as_indexed(random_vectors(1000, 384, 5), 1, "d"));
  const std::size_t full = index.memory_bytes();
  EXPECT_GE(full - empty, 1000u * 384u * sizeof(float));
  EXPECT_LT(full - empty, 1000u * 384u * sizeof(float) * 2);
}

}  // namespace
}  // namespace ivr::rag
