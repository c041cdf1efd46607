#include "ivr/providers/provider.hpp"

namespace ivr::providers {

bool retryable_on_next_provider(const boost::system::error_code& ec) noexcept {
  return ec == Errc::timeout || ec == Errc::unavailable || ec == Errc::rate_limited ||
         ec == Errc::upstream_error;
}

}  // namespace ivr::providers
