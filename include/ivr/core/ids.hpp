#pragma once
// Identifiers: FusionPBX domain UUIDs, request ids, API tokens and their hashes.

#include <optional>
#include <string>
#include <string_view>

namespace ivr {

// True for the canonical 8-4-4-4-12 hex form (any case), which is how FusionPBX stores domain_uuid.
bool is_valid_uuid(std::string_view text) noexcept;

// Lower-cases a valid UUID; nullopt when `text` is not one.
std::optional<std::string> normalize_uuid(std::string_view text);

// A new random (v4) UUID in canonical lower-case form.
std::string random_uuid();

// A request id accepted from a client: 1..128 chars of [A-Za-z0-9._:-]. Anything else is replaced.
bool is_acceptable_request_id(std::string_view text) noexcept;
std::string new_request_id();

// API tokens: "ivr_" + 43 chars of base64url (32 random bytes). Only the SHA-256 hex digest is stored.
std::string generate_api_token();
std::string sha256_hex(std::string_view data);

// Constant-time comparison for secrets.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace ivr
