// Retrieval quality of the knowledge base with the offline hash embedder: for each labelled question of a
// fixtures directory (questions.json: domain, question, document, answer_contains), the rank of the
// expected document among the top results of the question's domain, and whether the expected answer is in
// the passages a call would be given (top 4). Target: every expected document in the top 4.
//
// The documents go through the daemon's own ingestion code (rag::prepare_document: sniff, extract,
// normalise, chunk), the default HashEmbedder and a per-domain rag::VectorIndex, exactly as an upload
// does, without Postgres (what Postgres adds is storage, not ranking).
//
// Usage: bench_kb_quality [fixtures dir]   (default ../shared/fixtures/kb)

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ivr/knowledge/hash_embedder.hpp"
#include "ivr/rag/ingestion.hpp"
#include "ivr/rag/vector_index.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct Domain {
  std::unique_ptr<ivr::rag::VectorIndex> index;
  std::map<std::int64_t, std::string> chunk_text;
};

}  // namespace

int main(int argc, char** argv) {
  const fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::path("../shared/fixtures/kb");
  const fs::path questions_path = dir / "questions.json";
  if (!fs::exists(questions_path)) {
    std::fprintf(stderr, "no %s\n", questions_path.c_str());
    return 2;
  }
  const auto questions = nlohmann::json::parse(read_file(questions_path));
  ivr::knowledge::HashEmbedder embedder;
  constexpr int kTopK = 4;

  // Documents belong to the domain named by their file's prefix in questions.json ("clinica_…").
  std::map<std::string, Domain> domains;
  std::int64_t next_chunk = 1;
  for (const auto& q : questions) domains.try_emplace(q.at("domain").get<std::string>());
  for (auto& [name, domain] : domains) {
    domain.index = std::make_unique<ivr::rag::VectorIndex>(
        ivr::rag::VectorIndexOptions{.dimension = embedder.dimension()});
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename() != "questions.json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    const std::string name = file.filename().string();
    auto owner = std::find_if(domains.begin(), domains.end(),
                              [&](const auto& d) { return name.rfind(d.first + "_", 0) == 0; });
    if (owner == domains.end()) continue;
    const auto prepared = ivr::rag::prepare_document(read_file(file), {}, {});
    if (!prepared) {
      std::printf("%-28s FAILED: %s\n", name.c_str(), prepared.error().reason.c_str());
      continue;
    }
    std::vector<ivr::rag::IndexedVector> vectors;
    for (const auto& chunk : prepared->chunks) {
      owner->second.chunk_text[next_chunk] = chunk.text;
      vectors.push_back({next_chunk++, name, "", embedder.embed_one(chunk.text)});
    }
    owner->second.index->add(vectors);
    std::printf("%-28s %-8s %3zu chunk(s)\n", name.c_str(), owner->first.c_str(), prepared->chunks.size());
  }

  std::printf("\n%-48s %-28s %5s %7s %s\n", "question", "expected document", "rank", "score",
              "answer in top 4");
  int in_top = 0, answered = 0, total = 0;
  for (const auto& q : questions) {
    const std::string domain = q.at("domain"), question = q.at("question"), expected = q.at("document");
    const std::string answer = q.value("answer_contains", "");
    Domain& d = domains.at(domain);
    const auto hits = d.index->search(embedder.embed_one(question), 50);
    // Rank of the expected document = position of its best chunk among distinct documents.
    std::vector<std::string> ranked_documents;
    for (const auto& h : hits) {
      if (std::find(ranked_documents.begin(), ranked_documents.end(), h.document_id) ==
          ranked_documents.end()) {
        ranked_documents.push_back(h.document_id);
      }
    }
    const auto pos = std::find(ranked_documents.begin(), ranked_documents.end(), expected);
    const int rank =
        pos == ranked_documents.end() ? -1 : static_cast<int>(pos - ranked_documents.begin()) + 1;
    double score = 0;
    for (const auto& h : hits) {
      if (h.document_id == expected) {
        score = h.score;
        break;
      }
    }
    bool answer_found = answer.empty();
    for (int i = 0; i < std::min<int>(kTopK, static_cast<int>(hits.size())); ++i) {
      if (!answer.empty() &&
          d.chunk_text[hits[static_cast<std::size_t>(i)].chunk_id].find(answer) != std::string::npos) {
        answer_found = true;
      }
    }
    ++total;
    in_top += rank >= 1 && rank <= kTopK;
    answered += answer_found;
    std::printf("%-48s %-28s %5d %7.3f %s\n", question.c_str(), expected.c_str(), rank, score,
                answer_found ? "yes" : "NO");
  }
  std::printf("\nexpected document in the top %d: %d/%d; answer text in the top %d passages: %d/%d\n", kTopK,
              in_top, total, kTopK, answered, total);

  // Questions no document answers: their best score is what knowledge.min_score must stay above, while
  // the answered questions' scores above must stay over it.
  static const char* unrelated[] = {
      "Qual a previsão do tempo para amanhã?",  "Quem ganhou o jogo de futebol ontem?",
      "Como faço para trocar o pneu do carro?", "What is the capital of France?",
      "Vocês vendem passagens de avião?",       "Quero pedir uma pizza de calabresa"};
  std::printf("\n%-48s %-10s %s\n", "unrelated question", "domain", "best score");
  for (const char* question : unrelated) {
    for (auto& [name, d] : domains) {
      const auto hits = d.index->search(embedder.embed_one(question), 1);
      std::printf("%-48s %-10s %.3f\n", question, name.c_str(), hits.empty() ? 0.0 : hits[0].score);
    }
  }
  return in_top == total ? 0 : 1;
}
