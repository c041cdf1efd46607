#pragma once
// Encryption at rest for tenants' provider credentials: AES-256-GCM with a 32-byte master key from the
// environment or a file (never from the config file). Sealed text is "v1:" + base64(nonce ‖ ciphertext ‖
// tag); the associated data binds a secret to its owner (e.g. the domain uuid), so a ciphertext copied to
// another tenant's row does not open.

#include <optional>
#include <string>
#include <string_view>

#include "ivr/core/base64.hpp"  // secrets are sealed as base64; users of this header rely on it
#include "ivr/core/errors.hpp"

namespace ivr {

class SecretBox {
 public:
  // `key` must be exactly 32 bytes. Throws std::invalid_argument otherwise.
  explicit SecretBox(std::string key);

  // Accepts 64 hex characters or base64 of 32 bytes (what `openssl rand -hex 32` / `-base64 32` print).
  static Result<SecretBox> from_text(std::string_view text);

  std::string seal(std::string_view plaintext, std::string_view associated_data) const;
  // Errc::unprocessable when the text is malformed, was sealed with another key or for another owner.
  Result<std::string> open(std::string_view sealed, std::string_view associated_data) const;

 private:
  std::string key_;
};

}  // namespace ivr
