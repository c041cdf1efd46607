// The knowledge base against the real PostgreSQL (IVR_TEST_DATABASE_URL): the document repository's
// dedupe, leases and re-embedding claims, the per-domain indexes built from Postgres, search and tenant
// isolation, and the ingestion worker end to end (upload row → ready → searchable; a dead worker's job
// taken over). Each test has a database of its own.

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ivr/core/ids.hpp"
#include "ivr/knowledge/hash_embedder.hpp"
#include "ivr/rag/domain_indexes.hpp"
#include "ivr/rag/ingestion.hpp"
#include "ivr/rag/knowledge_service.hpp"
#include "ivr/store/database.hpp"
#include "ivr/store/documents.hpp"
#include "support/temporary_database.hpp"
#include "support/test_env.hpp"

namespace ivr::rag {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr const char* kHours =
    "Horário de atendimento\n\nA clínica atende de segunda a sexta, das 7h às 19h, e aos sábados das 8h às "
    "12h.";
constexpr const char* kParking =
    "Estacionamento\n\nHá estacionamento gratuito para pacientes na Rua das Acácias, 120.";

store::NewDocument text_document(const std::string& domain, const std::string& text, const std::string& title,
                                 const std::string& secretary = {}) {
  store::NewDocument d;
  d.domain_uuid = domain;
  d.secretary_id = secretary;
  d.title = title;
  d.filename = title + ".txt";
  d.doc_type = "txt";
  d.sha256 = sha256_hex(text);
  d.content = text;
  return d;
}

class KnowledgeStoreTest : public ::testing::Test {
 protected:
  KnowledgeStoreTest()
      : temp_("test_kb_"),
        db_(pool_, temp_.config()),
        documents_(db_),
        other_db_(pool_, temp_.config()),
        other_documents_(other_db_) {}

  ~KnowledgeStoreTest() override { pool_.join(); }

  template <class T>
  T run(asio::awaitable<T> aw) {
    return test::run(io_, std::move(aw));
  }
  void run(asio::awaitable<void> aw) { test::run(io_, std::move(aw)); }

  store::DocumentRecord create(const store::NewDocument& d) {
    auto created = run(documents_.create(d));
    EXPECT_TRUE(created) << created.error().message();
    return created->document;
  }

  // Runs the worker until no document is `processing` any more (or 10 s pass); returns `id`'s row.
  store::DocumentRecord ingest_until_done(IngestionWorker& worker, const std::string& domain,
                                          const std::string& id) {
    worker.start();
    store::DocumentRecord doc;
    asio::steady_timer timer(io_);
    for (int i = 0; i < 200; ++i) {
      const int pending =
          temp_.sql("SELECT count(*) FROM documents WHERE status = 'processing'")[0][0].as<int>();
      if (pending == 0 && worker.in_flight() == 0) {
        auto got = run(documents_.get(domain, id));
        if (got) doc = *got;
        break;
      }
      timer.expires_after(50ms);
      run(timer.async_wait(asio::use_awaitable));
    }
    run(worker.stop(5s));
    return doc;
  }

  IngestionOptions fast_ingestion() {
    IngestionOptions o;
    o.poll_interval = 50ms;
    o.lease = 2s;
    return o;
  }

  asio::io_context io_;
  asio::thread_pool pool_{4};
  test::TemporaryDatabase temp_;
  store::Database db_;
  store::DocumentRepository documents_;
  store::Database other_db_;  // a second instance's connections
  store::DocumentRepository other_documents_;
  knowledge::HashEmbedder embedder_;
  std::string domain_ = random_uuid();
  std::string other_domain_ = random_uuid();
};

TEST_F(KnowledgeStoreTest, SameBytesInADomainAreOneDocumentAcrossDomainsTwo) {
  const auto first = run(documents_.create(text_document(domain_, kHours, "horarios")));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->document.status, "processing");
  EXPECT_EQ(first->document.sha256, sha256_hex(kHours));
  const auto again = run(documents_.create(text_document(domain_, kHours, "outro título")));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->document.id, first->document.id);
  EXPECT_EQ(again->document.title, "horarios");
  const auto other = run(documents_.create(text_document(other_domain_, kHours, "horarios")));
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->created);
  EXPECT_NE(other->document.id, first->document.id);
}

TEST_F(KnowledgeStoreTest, ADomainCannotReadOrDeleteAnothersDocument) {
  const auto doc = create(text_document(domain_, kHours, "horarios"));
  auto read = run(documents_.get(other_domain_, doc.id));
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), Errc::not_found);
  auto removed = run(documents_.remove(other_domain_, doc.id));
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error(), Errc::not_found);
  EXPECT_TRUE(run(documents_.get(domain_, doc.id)));
  auto listed = run(documents_.list(other_domain_));
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  auto malformed = run(documents_.get(domain_, "not-a-uuid"));
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error(), Errc::not_found);
}

TEST_F(KnowledgeStoreTest, AJobIsClaimedByOneInstanceAndTakenOverWhenItsLeaseRunsOut) {
  const auto doc = create(text_document(domain_, kHours, "horarios"));
  auto mine = run(documents_.claim("hash-v1-384", 300ms));
  ASSERT_TRUE(mine);
  ASSERT_TRUE(mine->has_value());
  EXPECT_EQ((*mine)->document.id, doc.id);
  EXPECT_EQ((*mine)->content, kHours);
  EXPECT_EQ((*mine)->document.attempts, 1);
  // The other instance finds nothing while the lease runs…
  auto theirs = run(other_documents_.claim("hash-v1-384", 300ms));
  ASSERT_TRUE(theirs);
  EXPECT_FALSE(theirs->has_value());
  // …and takes the job over once it has run out (the first worker died).
  asio::steady_timer timer(io_);
  timer.expires_after(400ms);
  run(timer.async_wait(asio::use_awaitable));
  theirs = run(other_documents_.claim("hash-v1-384", 300ms));
  ASSERT_TRUE(theirs);
  ASSERT_TRUE(theirs->has_value());
  EXPECT_EQ((*theirs)->document.id, doc.id);
  EXPECT_EQ((*theirs)->document.attempts, 2);
}

TEST_F(KnowledgeStoreTest, CompletedChunksAreReadBackInPagesAndReadyDocumentsOfAnotherModelAreClaimed) {
  const auto doc = create(text_document(domain_, kHours, "horarios", /*secretary=*/""));
  std::vector<store::StoredChunk> chunks;
  for (int i = 0; i < 5; ++i) {
    chunks.push_back(
        {i, 1, "", "texto " + std::to_string(i), 2, embedder_.embed_one("texto " + std::to_string(i))});
  }
  auto ids = run(documents_.complete(doc.id, embedder_.model(), embedder_.dimension(), 1, chunks));
  ASSERT_TRUE(ids);
  ASSERT_TRUE(ids->has_value());
  ASSERT_EQ((*ids)->size(), 5u);
  auto ready = run(documents_.get(domain_, doc.id));
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, "ready");
  EXPECT_EQ(ready->chunk_count, 5);
  EXPECT_EQ(ready->token_count, 10);
  EXPECT_EQ(ready->embedding_model, "hash-v1-384");

  auto page1 = run(documents_.vectors(domain_, embedder_.model(), 0, 3));
  ASSERT_TRUE(page1);
  ASSERT_EQ(page1->size(), 3u);
  auto page2 = run(documents_.vectors(domain_, embedder_.model(), page1->back().chunk_id, 3));
  ASSERT_TRUE(page2);
  ASSERT_EQ(page2->size(), 2u);
  EXPECT_EQ((*page2)[1].chunk_id, (*ids)->back());
  EXPECT_EQ((*page2)[1].embedding, chunks[4].embedding);  // float32 bytes round-trip exactly
  auto none = run(documents_.vectors(other_domain_, embedder_.model(), 0, 10));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto foreign = run(documents_.chunk_texts(other_domain_, **ids));
  ASSERT_TRUE(foreign);
  EXPECT_TRUE(foreign->empty());

  // Nothing to do for the same model; a new model claims the ready document for re-embedding.
  auto same = run(documents_.claim("hash-v1-384", 1s));
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->has_value());
  auto reembed = run(documents_.claim("hash-v1-512", 1s));
  ASSERT_TRUE(reembed);
  ASSERT_TRUE(reembed->has_value());
  EXPECT_EQ((*reembed)->document.status, "ready");
  EXPECT_EQ((*reembed)->content, kHours);

  auto removed = run(documents_.remove(domain_, doc.id));
  ASSERT_TRUE(removed);
  EXPECT_EQ(temp_.sql("SELECT count(*) FROM document_chunks")[0][0].as<int>(), 0);
}

TEST_F(KnowledgeStoreTest, IngestedDocumentsAreSearchableOnlyInTheirDomainAndDeletionRemovesThem) {
  DomainIndexesOptions index_options;
  index_options.index.dimension = embedder_.dimension();
  index_options.model = embedder_.model();
  DomainIndexes indexes(pool_, documents_, index_options);
  KnowledgeService knowledge(pool_, documents_, indexes, embedder_, {0.1, 50});
  std::vector<std::string> changed;
  IngestionWorker worker(io_, pool_, documents_, indexes, embedder_, fast_ingestion(),
                         [&changed](const std::string& d) { changed.push_back(d); });

  // The index is loaded (empty) before the documents arrive: ingestion must update it in place.
  auto empty = run(knowledge.search(domain_, std::nullopt, "Onde fica o estacionamento?", 4));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(indexes.loads(), 1u);

  const auto hours = create(text_document(domain_, kHours, "horarios"));
  const auto parking = create(text_document(domain_, kParking, "estacionamento"));
  const auto foreign = create(text_document(other_domain_, kParking, "estacionamento"));
  EXPECT_EQ(ingest_until_done(worker, domain_, hours.id).status, "ready");
  EXPECT_EQ(run(documents_.get(domain_, parking.id))->status, "ready");
  EXPECT_EQ(run(documents_.get(other_domain_, foreign.id))->status, "ready");
  EXPECT_EQ(worker.completed(), 3u);
  EXPECT_EQ(std::set<std::string>(changed.begin(), changed.end()),
            (std::set<std::string>{domain_, other_domain_}));

  auto found = run(knowledge.search_chunks(domain_, std::nullopt, "Onde fica o estacionamento?", 4, 0.1));
  ASSERT_TRUE(found) << found.error().message();
  ASSERT_FALSE(found->empty());
  EXPECT_EQ((*found)[0].document_id, parking.id);
  EXPECT_EQ((*found)[0].document_title, "estacionamento");
  EXPECT_NE((*found)[0].text.find("Acácias"), std::string::npos);
  for (const auto& hit : *found) EXPECT_NE(hit.document_id, foreign.id);
  EXPECT_EQ(indexes.loads(), 1u);  // updated in place, not rebuilt

  ASSERT_TRUE(run(documents_.remove(domain_, parking.id)));
  run(indexes.remove(domain_, parking.id));
  auto after = run(knowledge.search_chunks(domain_, std::nullopt, "Onde fica o estacionamento?", 4, 0.1));
  ASSERT_TRUE(after);
  for (const auto& hit : *after) EXPECT_NE(hit.document_id, parking.id);

  // Another instance changed the domain: the copy is dropped and rebuilt from Postgres on the next search.
  indexes.drop(domain_);
  auto rebuilt = run(knowledge.search_chunks(domain_, std::nullopt, "A clínica abre no sábado?", 4, 0.1));
  ASSERT_TRUE(rebuilt);
  ASSERT_FALSE(rebuilt->empty());
  EXPECT_EQ((*rebuilt)[0].document_id, hours.id);
  EXPECT_EQ(indexes.loads(), 2u);
}

TEST_F(KnowledgeStoreTest, ASecretarysDocumentsAreForThatSecretaryOnly) {
  DomainIndexesOptions index_options;
  index_options.index.dimension = embedder_.dimension();
  index_options.model = embedder_.model();
  DomainIndexes indexes(pool_, documents_, index_options);
  KnowledgeService knowledge(pool_, documents_, indexes, embedder_, {0.1, 50});
  IngestionWorker worker(io_, pool_, documents_, indexes, embedder_, fast_ingestion());
  const std::string sales = random_uuid();
  const auto parking = create(text_document(domain_, kParking, "estacionamento", sales));
  EXPECT_EQ(ingest_until_done(worker, domain_, parking.id).status, "ready");
  auto for_sales = run(knowledge.search(domain_, sales, "Onde fica o estacionamento?", 4));
  ASSERT_TRUE(for_sales);
  EXPECT_EQ(for_sales->size(), 1u);
  auto for_support = run(knowledge.search(domain_, random_uuid(), "Onde fica o estacionamento?", 4));
  ASSERT_TRUE(for_support);
  EXPECT_TRUE(for_support->empty());
}

TEST_F(KnowledgeStoreTest, ABadDocumentFailsWithAReasonAndTheWorkerGoesOn) {
  DomainIndexesOptions index_options;
  index_options.index.dimension = embedder_.dimension();
  index_options.model = embedder_.model();
  DomainIndexes indexes(pool_, documents_, index_options);
  IngestionWorker worker(io_, pool_, documents_, indexes, embedder_, fast_ingestion());
  store::NewDocument broken = text_document(domain_, "%PDF-1.4\ntruncated", "quebrado");
  broken.doc_type = "pdf";
  const auto bad = create(broken);
  const auto good = create(text_document(domain_, kHours, "horarios"));
  const auto done = ingest_until_done(worker, domain_, bad.id);
  EXPECT_EQ(done.status, "failed");
  EXPECT_NE(done.reason.find("PDF"), std::string::npos) << done.reason;
  EXPECT_EQ(run(documents_.get(domain_, good.id))->status, "ready");
  EXPECT_EQ(worker.failed(), 1u);
}

}  // namespace
}  // namespace ivr::rag
