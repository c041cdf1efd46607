#pragma once
// Our error codes, plugged into boost::system::error_code, and the one mapping from a code to an HTTP
// status and client-safe code string. Details of a failure go to the log, never to the client.

#include <string>
#include <string_view>
#include <system_error>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace ivr {

enum class Errc {
  ok = 0,
  bad_request,             // 400: generic malformed input
  invalid_json,            // 400: body is not valid JSON
  invalid_domain_uuid,     // 400: X-Domain-UUID / domain_uuid malformed
  domain_mismatch,         // 400: body domain_uuid differs from the header
  unauthorized,            // 401: missing or unknown token
  forbidden,               // 403: wrong scope or token bound to another domain
  not_found,               // 404: unknown route or resource
  unknown_domain,          // 404: domain unknown or disabled
  method_not_allowed,      // 405
  request_timeout,         // 408: client too slow
  conflict,                // 409
  payload_too_large,       // 413
  unsupported_media_type,  // 415
  unprocessable,           // 422: well-formed but semantically invalid
  rate_limited,            // 429
  header_too_large,        // 431
  internal,                // 500
  upstream_error,          // 502: a provider answered with an error
  unavailable,             // 503: Postgres, Redis or a provider unreachable
  timeout,                 // 504: an upstream did not answer in time
  cancelled,               // operation cancelled by us (shutdown, caller gone)
  config_invalid,          // configuration rejected at start-up
};

const boost::system::error_category& ivr_category() noexcept;

inline boost::system::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), ivr_category()};
}

template <class T>
using Result = boost::system::result<T>;

// The HTTP status and stable machine-readable code string for an error.
struct HttpErrorMapping {
  int status;
  std::string_view code;  // e.g. "invalid_domain_uuid"
};

// Maps any error_code to a status and code. Codes outside our category map to 500 "internal".
HttpErrorMapping http_error_mapping(const boost::system::error_code& ec) noexcept;

// Builds the JSON error envelope {"error":{"code":…,"message":…}}.
std::string error_envelope(std::string_view code, std::string_view message);

}  // namespace ivr

namespace boost::system {
template <>
struct is_error_code_enum<ivr::Errc> : std::true_type {};
}  // namespace boost::system
