#pragma once
// Base64, standard alphabet, padded (RFC 4648 §4), through OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock: the
// one codec for sealed secrets, streamAudio messages and realtime providers' audio events. The *_into
// forms reuse the caller's buffer, for the per-audio-frame paths.

#include <optional>
#include <string>
#include <string_view>

namespace ivr {

std::string base64_encode(std::string_view data);
// Appends the encoding of `data` to `out` (no allocation once `out` has grown to the largest message).
void append_base64(std::string& out, std::string_view data);

// nullopt unless `text` is entirely base64 (alphabet, padding, length a multiple of 4).
std::optional<std::string> base64_decode(std::string_view text);
// Replaces `out` with the decoded bytes; false when the length is not a multiple of 4 or OpenSSL rejects
// a character. For trusted-shape input on hot paths (provider audio): no separate alphabet scan.
bool base64_decode_into(std::string_view text, std::string& out);

}  // namespace ivr
