#include "ivr/core/errors.hpp"

#include <nlohmann/json.hpp>

namespace ivr {
namespace {

struct Entry {
  int status;
  std::string_view code;
};

Entry entry_for(Errc e) noexcept {
  switch (e) {
    case Errc::ok:
      return {200, "ok"};
    case Errc::bad_request:
      return {400, "bad_request"};
    case Errc::invalid_json:
      return {400, "invalid_json"};
    case Errc::invalid_domain_uuid:
      return {400, "invalid_domain_uuid"};
    case Errc::domain_mismatch:
      return {400, "domain_mismatch"};
    case Errc::unauthorized:
      return {401, "unauthorized"};
    case Errc::forbidden:
      return {403, "forbidden"};
    case Errc::not_found:
      return {404, "not_found"};
    case Errc::unknown_domain:
      return {404, "unknown_domain"};
    case Errc::method_not_allowed:
      return {405, "method_not_allowed"};
    case Errc::request_timeout:
      return {408, "request_timeout"};
    case Errc::conflict:
      return {409, "conflict"};
    case Errc::payload_too_large:
      return {413, "payload_too_large"};
    case Errc::unsupported_media_type:
      return {415, "unsupported_media_type"};
    case Errc::unprocessable:
      return {422, "unprocessable"};
    case Errc::rate_limited:
      return {429, "rate_limited"};
    case Errc::header_too_large:
      return {431, "header_too_large"};
    case Errc::internal:
      return {500, "internal"};
    case Errc::upstream_error:
      return {502, "upstream_error"};
    case Errc::unavailable:
      return {503, "unavailable"};
    case Errc::timeout:
      return {504, "timeout"};
    case Errc::cancelled:
      return {503, "cancelled"};
    case Errc::config_invalid:
      return {500, "config_invalid"};
  }
  return {500, "internal"};
}

class IvrCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "ivr"; }
  std::string message(int ev) const override { return std::string(entry_for(static_cast<Errc>(ev)).code); }
};

}  // namespace

const boost::system::error_category& ivr_category() noexcept {
  static const IvrCategory category;
  return category;
}

HttpErrorMapping http_error_mapping(const boost::system::error_code& ec) noexcept {
  if (ec.category() != ivr_category()) return {500, "internal"};
  const Entry e = entry_for(static_cast<Errc>(ec.value()));
  return {e.status, e.code};
}

std::string error_envelope(std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  // Replace invalid UTF-8 rather than throw: messages may quote client input.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ivr
