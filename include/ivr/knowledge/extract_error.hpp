#pragma once
// The error of the knowledge-base pipeline stages that judge a tenant's document (type sniffing,
// extraction): a code for the HTTP mapping plus a human, client-safe reason that is shown to the admin
// and stored with a document that ends `failed` ("the PDF is encrypted", "the DOCX archive is damaged").
// The reason never contains file contents or paths.

#include <string>
#include <utility>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include "ivr/core/errors.hpp"

namespace ivr::knowledge {

struct ExtractError {
  Errc code = Errc::unprocessable;  // unsupported_media_type (not a PDF/DOCX/TXT) or unprocessable
  std::string reason;               // lower-case English sentence without a final period
};

inline ExtractError extract_error(Errc code, std::string reason) {
  return {code, std::move(reason)};
}

template <class T>
using ExtractResult = boost::system::result<T, ExtractError>;

// Called (through ADL) by ExtractResult::value() on an error: throws boost::system::system_error with the
// code and the reason as its message.
[[noreturn]] void throw_exception_from_error(const ExtractError& e, const boost::source_location& loc);

}  // namespace ivr::knowledge
