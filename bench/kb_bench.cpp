// Knowledge-base speed and size:
//  1. ingestion of a generated 100-page PDF through the daemon's pipeline (rag::prepare_document: extract
//     with poppler, normalise, chunk) and the offline hash embedder: seconds (target < 3 s);
//  2. search latency p50/p99 of rag::VectorIndex at 10,000 and 100,000 chunks, 384 and 1536 dimensions,
//     exact (flat) and HNSW, recall@4 of HNSW against exact (target at 100k: p99 < 5 ms, recall ≥ 0.95);
//  3. memory per 10,000 chunks.
// Vectors for (2) are clustered (topics) with noise, normalised, like real chunk embeddings; queries are
// perturbed chunks. Figures go to bench/README.md.
//
// Usage: bench_kb_bench [--quick] [--write-pdf FILE]
//   --quick: 10k only (a smoke run); --write-pdf: only write the 100-page PDF (for bench/kb_ingest.sh).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ivr/knowledge/hash_embedder.hpp"
#include "ivr/rag/ingestion.hpp"
#include "ivr/rag/vector_index.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A PDF of `pages` pages of Helvetica text, ~45 lines each, written by hand (PDF 1.4, one content stream
// per page, exact xref offsets): what an office's exported price list or manual looks like to poppler.
std::string make_pdf(int pages) {
  static const char* topics[] = {"consultas", "exames",         "vacinas",    "convenios",   "pagamentos",
                                 "horarios",  "estacionamento", "resultados", "agendamento", "cancelamento"};
  std::vector<std::string> objects;  // 1-based object numbers: objects[i] is object i + 1
  objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push_back("");  // pages tree, filled in below
  objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  std::string kids;
  for (int p = 1; p <= pages; ++p) {
    std::string text = "BT /F1 10 Tf 13 TL 50 800 Td\n";
    for (int line = 0; line < 45; ++line) {
      const char* topic = topics[(p + line / 9) % 10];
      char buffer[200];
      std::snprintf(buffer, sizeof buffer,
                    "(Pagina %d item %d: informacoes sobre %s para pacientes, regra numero %d de %d.) '\n", p,
                    line + 1, topic, p * 100 + line, pages);
      text += buffer;
    }
    text += "ET";
    const int content_obj = static_cast<int>(objects.size()) + 2;
    objects.push_back(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        "/Contents " +
        std::to_string(content_obj) + " 0 R >>");
    kids += std::to_string(objects.size()) + " 0 R ";
    objects.push_back("<< /Length " + std::to_string(text.size()) + " >>\nstream\n" + text + "\nendstream");
  }
  objects[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages) + " >>";
  std::string pdf = "%PDF-1.4\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t off : offsets) {
    char line[24];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

void bench_ingestion() {
  const std::string pdf = make_pdf(100);
  ivr::knowledge::HashEmbedder embedder;
  const auto start = Clock::now();
  auto prepared = ivr::rag::prepare_document(pdf, {}, {});
  if (!prepared) {
    std::printf("ingestion: FAILED: %s\n", prepared.error().reason.c_str());
    return;
  }
  const double extract_ms = ms_since(start);
  const auto embed_start = Clock::now();
  std::size_t tokens = 0;
  for (const auto& chunk : prepared->chunks) {
    auto v = embedder.embed_one(chunk.text);
    tokens += chunk.tokens;
  }
  const double embed_ms = ms_since(embed_start);
  std::printf(
      "ingestion of a 100-page PDF (%zu KiB): %d pages, %zu chunks, %zu tokens; extract+normalise+chunk "
      "%.0f ms, hash embedding %.0f ms, total %.2f s (target < 3 s; Postgres storage not included: see "
      "bench/kb_ingest.sh)\n",
      pdf.size() / 1024, prepared->pages.value_or(0), prepared->chunks.size(), tokens, extract_ms, embed_ms,
      (extract_ms + embed_ms) / 1000.0);
}

// n unit vectors around `topics` centres (noise of the same order as the centre: overlapping topics).
std::vector<float> clustered(std::size_t n, int dim, unsigned seed, int topics = 500) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss;
  std::vector<float> centres(static_cast<std::size_t>(topics) * dim);
  for (auto& x : centres) x = gauss(rng);
  std::vector<float> out(n * dim);
  std::uniform_int_distribution<int> pick(0, topics - 1);
  for (std::size_t i = 0; i < n; ++i) {
    const float* c = &centres[static_cast<std::size_t>(pick(rng)) * dim];
    float* v = &out[i * dim];
    double norm = 0;
    for (int j = 0; j < dim; ++j) {
      v[j] = c[j] + 0.8f * gauss(rng);
      norm += static_cast<double>(v[j]) * v[j];
    }
    const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (int j = 0; j < dim; ++j) v[j] *= inv;
  }
  return out;
}

std::vector<ivr::rag::IndexedVector> as_indexed(const std::vector<float>& flat, int dim) {
  std::vector<ivr::rag::IndexedVector> out(flat.size() / dim);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].chunk_id = static_cast<std::int64_t>(i) + 1;
    out[i].document_id = "doc-" + std::to_string(i / 100);  // 100 chunks per document
    out[i].embedding.assign(flat.begin() + static_cast<std::ptrdiff_t>(i * dim),
                            flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
  }
  return out;
}

struct Latency {
  double p50 = 0, p99 = 0;
};

Latency measure(const ivr::rag::VectorIndex& index, const std::vector<float>& queries, int dim,
                std::vector<std::vector<std::int64_t>>* results) {
  std::vector<double> times;
  const std::size_t n = queries.size() / dim;
  for (std::size_t i = 0; i < n; ++i) {
    std::span<const float> q(&queries[i * dim], static_cast<std::size_t>(dim));
    const auto start = Clock::now();
    const auto hits = index.search(q, 4);
    times.push_back(ms_since(start));
    if (results) {
      std::vector<std::int64_t> ids;
      for (const auto& h : hits) ids.push_back(h.chunk_id);
      results->push_back(std::move(ids));
    }
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], times[std::min(times.size() - 1, times.size() * 99 / 100)]};
}

void bench_search(std::size_t n, int dim) {
  const auto data = clustered(n, dim, 42);
  // Queries: perturbed chunks (a caller's question is near, not equal to, the passage that answers it).
  std::vector<float> queries = clustered(1000, dim, 7);
  {
    std::mt19937 rng(3);
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    for (std::size_t i = 0; i < 1000; ++i) {
      const float* base = &data[pick(rng) * dim];
      float* q = &queries[i * dim];
      double norm = 0;
      for (int j = 0; j < dim; ++j) {
        q[j] = base[j] + 0.5f * q[j];
        norm += static_cast<double>(q[j]) * q[j];
      }
      for (int j = 0; j < dim; ++j) q[j] = static_cast<float>(q[j] / std::sqrt(norm));
    }
  }
  const auto vectors = as_indexed(data, dim);

  ivr::rag::VectorIndex flat({.dimension = dim, .hnsw_threshold = n + 1});
  auto start = Clock::now();
  flat.add(vectors);
  const double flat_build = ms_since(start);
  std::vector<std::vector<std::int64_t>> truth;
  const Latency flat_latency = measure(flat, queries, dim, &truth);

  ivr::rag::VectorIndex hnsw({.dimension = dim, .hnsw_threshold = 1});
  start = Clock::now();
  hnsw.add(vectors);
  const double hnsw_build = ms_since(start);
  std::vector<std::vector<std::int64_t>> approx;
  const Latency hnsw_latency = measure(hnsw, queries, dim, &approx);
  std::size_t found = 0, wanted = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    wanted += truth[i].size();
    for (auto id : approx[i]) found += std::count(truth[i].begin(), truth[i].end(), id);
  }
  const double per10k = 10'000.0 / static_cast<double>(n);
  std::printf(
      "%7zu chunks %5d dims | flat: build %6.0f ms, p50 %6.3f ms, p99 %6.3f ms, %6.1f MiB/10k | "
      "hnsw: build %7.0f ms, p50 %6.3f ms, p99 %6.3f ms, %6.1f MiB/10k, recall@4 %.3f\n",
      n, dim, flat_build, flat_latency.p50, flat_latency.p99,
      static_cast<double>(flat.memory_bytes()) * per10k / (1 << 20), hnsw_build, hnsw_latency.p50,
      hnsw_latency.p99, static_cast<double>(hnsw.memory_bytes()) * per10k / (1 << 20),
      static_cast<double>(found) / static_cast<double>(wanted));
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strcmp(argv[i], "--write-pdf") == 0 && i + 1 < argc) {
      std::ofstream(argv[i + 1], std::ios::binary) << make_pdf(100);
      return 0;
    }
  }
  bench_ingestion();
  for (int dim : {384, 1536}) {
    bench_search(10'000, dim);
    if (!quick) bench_search(100'000, dim);
  }
  return 0;
}
