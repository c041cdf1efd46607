#pragma once
// JSON request bodies: parsing with a precise error (byte position) and the shared error helper.

#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/net/http_types.hpp"

namespace ivr::api {

// A JSON error envelope for one of our codes.
net::HttpResponse api_error(Errc code, std::string_view message);

// Parses the request body as a JSON object. On failure `error` is set to a 400 invalid_json response
// naming the byte position, or 422 when the JSON is valid but not an object; returns false.
bool parse_json_object(const net::HttpRequest& request, nlohmann::json& out, net::HttpResponse& error);

// A JSON response body from a value (invalid UTF-8 is replaced, never thrown).
net::HttpResponse json_response(int status, const nlohmann::json& value);

}  // namespace ivr::api
