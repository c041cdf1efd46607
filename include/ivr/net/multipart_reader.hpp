#pragma once
// multipart/form-data bodies already in memory (their size bounded by the route's body limit), sans-I/O.
// Parts are views into the body: keep the body alive while using them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ivr/core/errors.hpp"

namespace ivr::net {

struct MultipartPart {
  std::string name;          // form field name
  std::string filename;      // empty for plain fields
  std::string content_type;  // empty when the part has none
  std::string_view data;
};

// The boundary parameter of a "multipart/form-data; boundary=…" Content-Type; nullopt when absent.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Errc::bad_request when the body is not well-formed multipart with that boundary.
Result<std::vector<MultipartPart>> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace ivr::net
