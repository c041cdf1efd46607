#include "ivr/telephony/node_registry.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <utility>

#include <boost/asio/io_context.hpp>

namespace ivr::telephony {
namespace {

std::string_view unmapped(std::string_view address) {
  constexpr std::string_view kMapped = "::ffff:";
  if (address.size() > kMapped.size() && address.substr(0, kMapped.size()) == kMapped &&
      address.find('.') != std::string_view::npos) {
    address.remove_prefix(kMapped.size());
  }
  return address;
}

}  // namespace

EslNodeRegistry::EslNodeRegistry(boost::asio::io_context& io, std::vector<EslNode> nodes,
                                 EslClientOptions common) {
  std::set<std::string, std::less<>> names;
  for (const EslNode& node : nodes) {
    if (node.name.empty()) throw std::invalid_argument("a FreeSWITCH node has an empty name");
    if (!names.insert(node.name).second) {
      throw std::invalid_argument("FreeSWITCH node name '" + node.name + "' is used twice");
    }
  }
  if (std::find(common.events.begin(), common.events.end(), "CHANNEL_HANGUP_COMPLETE") ==
      common.events.end()) {
    common.events.push_back("CHANNEL_HANGUP_COMPLETE");
  }
  nodes_.reserve(nodes.size());
  for (EslNode& node : nodes) {
    EslClientOptions options = common;
    options.node = std::move(node);
    Node entry;
    entry.client = std::make_unique<EslClient>(io, std::move(options));
    entry.control = make_esl_call_control(*entry.client);
    nodes_.push_back(std::move(entry));
  }
}

EslNodeRegistry::~EslNodeRegistry() = default;

void EslNodeRegistry::start() {
  for (auto& node : nodes_) node.client->start();
}

void EslNodeRegistry::stop() {
  for (auto& node : nodes_) node.client->stop();
}

EslNodeRegistry::Node* EslNodeRegistry::by_name(std::string_view name) {
  for (auto& node : nodes_) {
    if (node.name() == name) return &node;
  }
  return nullptr;
}

EslNodeRegistry::Node* EslNodeRegistry::by_peer(std::string_view address) {
  const std::string_view wanted = unmapped(address);
  if (!wanted.empty()) {
    for (auto& node : nodes_) {
      if (unmapped(node.client->node().host) == wanted) return &node;
    }
    for (auto& node : nodes_) {
      const std::string connected = node.client->remote_address();
      if (!connected.empty() && unmapped(connected) == wanted) return &node;
    }
  }
  return default_node();
}

EslNodeRegistry::Node* EslNodeRegistry::default_node() {
  return nodes_.size() == 1 ? &nodes_.front() : nullptr;
}

void EslNodeRegistry::on_hangup(
    std::function<void(std::string_view node, std::string_view unique_id, const EslEvent&)> handler) {
  for (auto& node : nodes_) {
    const std::string name = node.name();
    on_channel_hangup(*node.client, [handler, name](std::string_view unique_id, const EslEvent& event) {
      handler(name, unique_id, event);
    });
  }
}

void EslNodeRegistry::on_custom(std::string subclass,
                                std::function<void(std::string_view node, const EslEvent&)> handler) {
  for (auto& node : nodes_) {
    const std::string name = node.name();
    node.client->add_event_handler([handler, name, subclass](const EslEvent& event) {
      if (event.name == "CUSTOM" && event.subclass == subclass) handler(name, event);
    });
  }
}

}  // namespace ivr::telephony
