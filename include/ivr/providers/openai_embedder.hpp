#pragma once
// Embeddings from any OpenAI-compatible POST {base_url}/v1/embeddings: OpenAI, Azure-style proxies,
// Ollama, vLLM, Hugging Face TEI. Texts go in batches (one request per embed() call; the caller chooses
// the batch size); 429, 5xx, timeouts and connection errors are retried with backoff before the error is
// returned; other 4xx answers (bad key, unknown model) are not. Vectors are L2-normalised here (not every
// server does it), so inner products are cosines.
//
// `dimensions` is sent only to OpenAI's text-embedding-3 models (the ones that accept it); for any other
// model the configured dimension must be the model's own, and an answer of another size is an error.
// model() is "<model>/<dimension>": changing either changes the vector space (and re-embeds documents).

#include <chrono>
#include <memory>
#include <string>

#include "ivr/knowledge/embedder.hpp"

namespace ivr::net {
class HttpClient;
}

namespace ivr::providers {

struct OpenAiEmbedderSettings {
  std::string base_url = "https://api.openai.com";  // with or without the trailing /v1
  std::string api_key;                              // may be empty (local servers)
  std::string model = "text-embedding-3-small";
  int dimension = 1536;
  std::chrono::milliseconds timeout{30'000};
  int max_attempts = 3;
  std::chrono::milliseconds first_backoff{500};  // doubles per retry
};

std::unique_ptr<knowledge::Embedder> make_openai_embedder(net::HttpClient& http,
                                                          OpenAiEmbedderSettings settings);

}  // namespace ivr::providers
