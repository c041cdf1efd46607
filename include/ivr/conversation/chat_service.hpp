#pragma once
// The turn-based conversation (POST /chat): one caller utterance in, the secretary's reply and the call's
// next action out. Owns the prompt, the tools, the action rules (allowed transfer targets, max turns) and
// the call's history (Redis cache in front of call_messages in Postgres). io-thread only.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/conversation/knowledge.hpp"
#include "ivr/conversation/provider_registry.hpp"
#include "ivr/conversation/secretary.hpp"
#include "ivr/core/errors.hpp"

namespace ivr::store {
class CallRepository;
class RedisClient;
class SecretaryRepository;
class UsageRepository;
}  // namespace ivr::store

namespace ivr::conversation {

// Resolves the secretary of a request: the named one, or the domain's default (created on first use with
// the offline providers, so a fresh domain answers at once).
// Every call turn resolves its secretary, so resolutions are cached briefly in the process: a change made
// through this instance's API is seen at once (invalidate), one made through another instance within
// `ttl`. Admin reads pass fresh = true.
class SecretaryDirectory {
 public:
  explicit SecretaryDirectory(store::SecretaryRepository& repo,
                              std::chrono::milliseconds ttl = std::chrono::seconds(5))
      : repo_(repo), ttl_(ttl) {}
  // Errc::not_found when `id` names no secretary of this domain (or a disabled one).
  boost::asio::awaitable<Result<Secretary>> resolve(std::string domain_uuid, std::string domain_name,
                                                    std::optional<std::string> id, bool fresh = false);
  // Drops the domain's cached secretaries (after a create, update or delete).
  void invalidate(const std::string& domain_uuid);

 private:
  boost::asio::awaitable<Result<Secretary>> load(const std::string& domain_uuid,
                                                 const std::string& domain_name,
                                                 const std::optional<std::string>& id);

  struct Cached {
    std::chrono::steady_clock::time_point expires;
    Secretary secretary;
  };
  store::SecretaryRepository& repo_;
  std::chrono::milliseconds ttl_;
  std::unordered_map<std::string, Cached> cache_;  // "domain|id" ("domain|" = the default); io thread only
};

// Receives create_ticket requests (the webhooks module queues a ticket_requested event).
class TicketSink {
 public:
  virtual ~TicketSink() = default;
  virtual boost::asio::awaitable<Result<void>> ticket_requested(const Secretary& secretary,
                                                                std::string call_uuid, std::string caller_id,
                                                                std::string summary) = 0;
};

struct ChatInput {
  std::string domain_uuid;
  std::string domain_name;
  std::string call_uuid;
  std::optional<std::string> secretary_id;
  std::string text;
  std::string caller_id;
  std::string request_id;  // for logs
};

struct ChatSource {
  std::string document_title;
  double score = 0;
};

struct ChatOutput {
  std::string text;
  std::string action = "continue";  // continue | transfer | hangup
  std::string transfer_to;          // the extension, when action = transfer
  std::string transfer_target;      // the target's name, when action = transfer
  std::vector<ChatSource> sources;
  std::string provider;
};

struct ChatSettings {
  std::string redis_key_prefix = "ivr:";
  int history_ttl_seconds = 7'200;
  int max_history_messages = 40;  // older turns are dropped from the prompt, not from the record
  int knowledge_top_k = 4;
};

class ChatService {
 public:
  // `tickets` may be null (create_ticket is then answered but not forwarded).
  ChatService(SecretaryDirectory& secretaries, store::CallRepository& calls, store::RedisClient& redis,
              ProviderRegistry& providers, KnowledgeBase& knowledge, store::UsageRepository& usage,
              TicketSink* tickets, ChatSettings settings);

  // Errors: Errc::not_found (unknown secretary), Errc::conflict (call uuid of another domain),
  // Errc::unavailable (database down; every provider down never errors: the offline model answers).
  boost::asio::awaitable<Result<ChatOutput>> chat(ChatInput input);

 private:
  // The call's history from Redis; nullopt when it is not there (or Redis is down).
  boost::asio::awaitable<std::optional<std::vector<providers::ChatMessage>>> cached_history(
      const ChatInput& input);
  // The whole transcript from Postgres.
  boost::asio::awaitable<std::vector<providers::ChatMessage>> stored_history(const ChatInput& input);
  boost::asio::awaitable<void> remember(const ChatInput& input,
                                        const std::vector<providers::ChatMessage>& earlier,
                                        const std::string& user, const std::string& reply);

  SecretaryDirectory& secretaries_;
  store::CallRepository& calls_;
  store::RedisClient& redis_;
  ProviderRegistry& providers_;
  KnowledgeBase& knowledge_;
  store::UsageRepository& usage_;
  TicketSink* tickets_;
  ChatSettings settings_;
};

// The system prompt for a secretary (language, transfer targets, knowledge passages, action rules).
std::string build_system_prompt(const Secretary& s,
                                const std::vector<providers::KnowledgeSnippet>& knowledge);
// The tool specs offered to models: transfer_call, end_call, create_ticket.
std::vector<providers::ToolSpec> conversation_tools(const Secretary& s);
// Finds an allowed transfer target by name or extension (case- and accent-insensitive); nullopt when the
// model asked for something the secretary does not allow.
std::optional<std::pair<std::string, std::string>> find_transfer_target(const Secretary& s,
                                                                        const std::string& asked);

}  // namespace ivr::conversation
