#include "ivr/providers/openai_embedder.hpp"

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "fakes/fake_vendor_server.hpp"
#include "ivr/net/http_client.hpp"
#include "support/test_env.hpp"

namespace ivr::providers {
namespace {

using namespace std::chrono_literals;
using test::FakeResponse;
using Vectors = std::vector<std::vector<float>>;

constexpr const char* kKey = "sk-embed-SECRET-0123456789";

// The documented answer: {"object":"list","data":[{"object":"embedding","index":i,"embedding":[…]}],…}.
std::string embeddings_answer(const std::vector<std::vector<float>>& vectors, bool reversed = false) {
  nlohmann::json data = nlohmann::json::array();
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    const std::size_t k = reversed ? vectors.size() - 1 - i : i;
    data.push_back({{"object", "embedding"}, {"index", k}, {"embedding", vectors[k]}});
  }
  return nlohmann::json({{"object", "list"},
                         {"data", data},
                         {"model", "text-embedding-3-small"},
                         {"usage", {{"prompt_tokens", 8}, {"total_tokens", 8}}}})
      .dump();
}

class OpenAiEmbedderTest : public ::testing::Test {
 protected:
  OpenAiEmbedderSettings settings(std::string model = "text-embedding-3-small", int dimension = 3) {
    OpenAiEmbedderSettings s;
    s.base_url = server.base_url() + "/v1";
    s.api_key = kKey;
    s.model = std::move(model);
    s.dimension = dimension;
    s.timeout = 2s;
    s.first_backoff = 10ms;
    return s;
  }
  Result<Vectors> embed(knowledge::Embedder& e, std::vector<std::string> texts) {
    return test::run(io, e.embed(std::move(texts)));
  }

  boost::asio::io_context io;
  net::HttpClient http{io};
  test::FakeVendorServer server;
};

TEST_F(OpenAiEmbedderTest, SendsOneBatchedRequestAndReturnsNormalisedVectorsInInputOrder) {
  // Out of order on purpose: the "index" field places each vector.
  server.respond("POST", "/v1/embeddings",
                 FakeResponse::json(200, embeddings_answer({{3, 4, 0}, {0, 0, 2}}, /*reversed=*/true)));
  auto embedder = make_openai_embedder(http, settings());
  EXPECT_EQ(embedder->dimension(), 3);
  EXPECT_EQ(embedder->model(), "text-embedding-3-small/3");
  EXPECT_FALSE(embedder->embed_now({"x"}).has_value());  // remote: no synchronous path
  auto out = embed(*embedder, {"Horário de atendimento", "Preços"});
  ASSERT_TRUE(out) << out.error().message();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_NEAR((*out)[0][0], 0.6f, 1e-6);
  EXPECT_NEAR((*out)[0][1], 0.8f, 1e-6);
  EXPECT_NEAR((*out)[1][2], 1.0f, 1e-6);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/v1/embeddings");
  EXPECT_EQ(requests[0].header("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(requests[0].header("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            nlohmann::json({{"model", "text-embedding-3-small"},
                            {"input", {"Horário de atendimento", "Preços"}},
                            {"encoding_format", "float"},
                            {"dimensions", 3}}));
}

TEST_F(OpenAiEmbedderTest, OtherModelsGetNoDimensionsFieldAndNoKeyWhenNoneIsSet) {
  server.respond("POST", "/v1/embeddings", FakeResponse::json(200, embeddings_answer({{1, 0}})));
  auto s = settings("nomic-embed-text", 2);
  s.api_key.clear();
  s.base_url = server.base_url();  // without /v1 works too (Ollama, TEI)
  auto embedder = make_openai_embedder(http, s);
  auto out = embed(*embedder, {"oi"});
  ASSERT_TRUE(out) << out.error().message();
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("authorization"), "");
  EXPECT_FALSE(nlohmann::json::parse(requests[0].body).contains("dimensions"));
}

TEST_F(OpenAiEmbedderTest, RetriesRateLimitsAndServerErrorsThenSucceeds) {
  int calls = 0;
  server.on("POST", "/v1/embeddings", [&calls](const test::RecordedRequest&) {
    ++calls;
    if (calls == 1) return FakeResponse::json(429, R"({"error":{"message":"slow down"}})");
    if (calls == 2) return FakeResponse::json(503, R"({"error":{"message":"overloaded"}})");
    return FakeResponse::json(200, embeddings_answer({{0, 1, 0}}));
  });
  auto embedder = make_openai_embedder(http, settings());
  auto out = embed(*embedder, {"oi"});
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(OpenAiEmbedderTest, GivesUpAfterItsAttemptsWithTheLastError) {
  server.respond("POST", "/v1/embeddings", FakeResponse::json(429, R"({"error":{"message":"quota"}})"));
  auto embedder = make_openai_embedder(http, settings());
  auto out = embed(*embedder, {"oi"});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error(), Errc::rate_limited);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(OpenAiEmbedderTest, AClientErrorIsNotRetried) {
  server.respond("POST", "/v1/embeddings", FakeResponse::json(401, R"({"error":{"message":"bad key"}})"));
  auto embedder = make_openai_embedder(http, settings());
  auto out = embed(*embedder, {"oi"});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error(), Errc::upstream_error);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(OpenAiEmbedderTest, UnusableAnswersAreErrorsNotVectors) {
  auto embedder = make_openai_embedder(http, settings());
  const std::vector<std::string> bad_answers = {
      "not json",
      R"({"data": "nope"})",
      R"({"data": [{"index": 0, "embedding": [1, 0]}]})",       // wrong dimension
      R"({"data": [{"index": 5, "embedding": [1, 0, 0]}]})",    // index out of range
      R"({"data": [{"index": 0, "embedding": [1, "x", 0]}]})",  // not a number
      R"({"data": []})",                                        // nothing for the input
      R"({"data": [{"index": 0}]})",                            // no embedding
  };
  for (const auto& answer : bad_answers) {
    server.respond("POST", "/v1/embeddings", FakeResponse::json(200, answer));
    auto out = embed(*embedder, {"oi"});
    ASSERT_FALSE(out) << answer;
    EXPECT_EQ(out.error(), Errc::upstream_error) << answer;
  }
}

TEST_F(OpenAiEmbedderTest, ATimeoutIsReportedAsOne) {
  FakeResponse slow = FakeResponse::json(200, embeddings_answer({{1, 0, 0}}));
  slow.delay = 1500ms;
  server.respond("POST", "/v1/embeddings", slow);
  auto s = settings();
  s.timeout = 200ms;
  s.max_attempts = 1;
  auto embedder = make_openai_embedder(http, s);
  auto out = embed(*embedder, {"oi"});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error(), Errc::timeout);
}

TEST_F(OpenAiEmbedderTest, NoTextsNoRequest) {
  auto embedder = make_openai_embedder(http, settings());
  auto out = embed(*embedder, {});
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->empty());
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace ivr::providers
