#pragma once
// The FreeSWITCH nodes the daemon controls, by name: one EslClient and one CallControl per node, built once
// by the composition root. A call is controlled on the node it runs on: the call layer picks the node by
// name (when the Lua starter passes it) or by the peer address of the node's mod_audio_stream connection;
// with a single node that node is the default for everything.
//
// Every client is subscribed to CHANNEL_HANGUP_COMPLETE so on_hangup() can tell the call layer when a call
// is over. Call from the io_context thread.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ivr/core/errors.hpp"
#include "ivr/telephony/call_control.hpp"
#include "ivr/telephony/esl_client.hpp"

namespace boost::asio {
class io_context;
}

namespace ivr::telephony {

class EslNodeRegistry {
 public:
  struct Node {
    std::unique_ptr<EslClient> client;
    std::unique_ptr<CallControl> control;
    const std::string& name() const { return client->node().name; }
  };

  // `common` supplies timeouts, backoff, limits and extra subscriptions; its `node` is replaced by each of
  // `nodes`. Throws std::invalid_argument when a name is empty or used twice (a configuration error).
  EslNodeRegistry(boost::asio::io_context& io, std::vector<EslNode> nodes, EslClientOptions common);
  ~EslNodeRegistry();
  EslNodeRegistry(const EslNodeRegistry&) = delete;
  EslNodeRegistry& operator=(const EslNodeRegistry&) = delete;

  void start();
  void stop();

  std::size_t size() const { return nodes_.size(); }
  // nullptr when no node has that name.
  Node* by_name(std::string_view name);
  // The node whose configured host, or whose last connected address, equals `address` (an IPv4-mapped IPv6
  // address such as "::ffff:10.0.0.5" matches "10.0.0.5"); else the default node; else nullptr.
  Node* by_peer(std::string_view address);
  // The only node when exactly one is configured, else nullptr.
  Node* default_node();

  // `handler(node name, call Unique-ID, event)` for every CHANNEL_HANGUP_COMPLETE on any node.
  void on_hangup(
      std::function<void(std::string_view node, std::string_view unique_id, const EslEvent&)> handler);
  // `handler(node name, event)` for every CUSTOM event of `subclass` (subscribed through the common
  // options' `subclasses`) on any node, e.g. "mod_audio_stream::play".
  void on_custom(std::string subclass, std::function<void(std::string_view node, const EslEvent&)> handler);

 private:
  std::vector<Node> nodes_;
};

}  // namespace ivr::telephony
