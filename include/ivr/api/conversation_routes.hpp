#pragma once
// The turn-based call API: /secretaries, /transcribe, /chat, /synthesize, /calls, /webhooks/deliveries.

#include <memory>
#include <string>

#include "ivr/api/tenant_guard.hpp"
#include "ivr/net/router.hpp"

namespace ivr {
class SecretBox;
}
namespace ivr::conversation {
class SecretaryDirectory;
class ProviderRegistry;
class ChatService;
class CallService;
}  // namespace ivr::conversation
namespace ivr::store {
class SecretaryRepository;
class RedisClient;
class UsageRepository;
}  // namespace ivr::store
namespace ivr::webhooks {
class WebhookSender;
}

namespace ivr::api {

struct ConversationDependencies {
  TenantGuard& guard;
  conversation::SecretaryDirectory& secretaries;
  store::SecretaryRepository& secretary_repo;
  conversation::ProviderRegistry& providers;
  conversation::ChatService& chat;
  conversation::CallService& calls;
  store::RedisClient& redis;  // synthesised-phrase cache
  store::UsageRepository& usage;
  webhooks::WebhookSender& webhooks;
  const SecretBox* box;  // null when no master key is configured
  std::string key_prefix;
  std::size_t max_audio_bytes = 16 * 1024 * 1024;
  int tts_cache_ttl_seconds = 86'400;
  std::size_t tts_cache_max_chars = 300;  // only short phrases (greetings, goodbyes) are cached
};

void register_conversation_routes(net::Router& router, std::shared_ptr<ConversationDependencies> deps);

}  // namespace ivr::api
