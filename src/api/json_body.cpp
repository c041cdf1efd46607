#include "ivr/api/json_body.hpp"

#include <nlohmann/json.hpp>

namespace ivr::api {

net::HttpResponse api_error(Errc code, std::string_view message) {
  return net::error_response(static_cast<int>(code), message);
}

bool parse_json_object(const net::HttpRequest& request, nlohmann::json& out, net::HttpResponse& error) {
  if (request.body.empty()) {
    error = api_error(Errc::invalid_json, "request body is empty; a JSON object is expected");
    return false;
  }
  try {
    out = nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::parse_error& e) {
    error = api_error(Errc::invalid_json,
                      "malformed JSON at byte " + std::to_string(e.byte) + ": " +
                          std::string(e.what()).substr(std::string(e.what()).find_last_of(':') + 1));
    return false;
  }
  if (!out.is_object()) {
    error = api_error(Errc::unprocessable, "the JSON body must be an object");
    return false;
  }
  return true;
}

net::HttpResponse json_response(int status, const nlohmann::json& value) {
  return net::HttpResponse::json(status,
                                 value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace ivr::api
