#pragma once
// The end of a call and its record: POST /calls/{uuid}/end finalises the call and, in the same
// transaction, queues the call_completed webhook for the tenant's helpdesk; create_ticket queues
// ticket_requested. GET /calls/{uuid} reads the record. io-thread only.

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "ivr/conversation/chat_service.hpp"
#include "ivr/store/calls.hpp"

namespace ivr::webhooks {
class WebhookSender;
}

namespace ivr::conversation {

struct CallEndInput {
  std::string domain_uuid;
  std::string domain_name;
  std::string call_uuid;
  std::string resolution;
  std::string transferred_to;
  std::optional<double> duration_seconds;
  std::string caller_id;
};

class CallService final : public TicketSink {
 public:
  CallService(store::CallRepository& calls, SecretaryDirectory& secretaries, webhooks::WebhookSender& sender);

  boost::asio::awaitable<Result<store::CallRecord>> end(CallEndInput input);
  boost::asio::awaitable<Result<std::optional<store::CallRecord>>> get(std::string domain_uuid,
                                                                       std::string call_uuid);

  boost::asio::awaitable<Result<void>> ticket_requested(const Secretary& secretary, std::string call_uuid,
                                                        std::string caller_id, std::string summary) override;

 private:
  store::CallRepository& calls_;
  SecretaryDirectory& secretaries_;
  webhooks::WebhookSender& sender_;
};

// The call_completed payload (also what GET /calls/{uuid} returns, minus "event").
std::string call_completed_payload(const store::CallRecord& call, const std::string& secretary_name);

}  // namespace ivr::conversation
