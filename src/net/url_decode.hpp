#pragma once
// Percent-decoding shared by http_types.cpp (query parameters) and http_server.cpp (request paths).
// Internal to the net module.

#include <optional>
#include <string>
#include <string_view>

namespace ivr::net::detail {

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in form-encoded queries).
// nullopt when an escape is malformed or decodes to NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace ivr::net::detail
