#include "ivr/core/base64.hpp"

#include <openssl/evp.h>

namespace ivr {
namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// EVP_DecodeBlock counts padding as zero bytes; this is the real length.
std::size_t decoded_size(int n, std::string_view text) {
  std::size_t size = static_cast<std::size_t>(n);
  if (!text.empty() && text.back() == '=') --size;
  if (text.size() > 1 && text[text.size() - 2] == '=') --size;
  return size;
}

}  // namespace

void append_base64(std::string& out, std::string_view data) {
  const std::size_t start = out.size();
  out.resize(start + 4 * ((data.size() + 2) / 3));
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + start), bytes(data),
                                static_cast<int>(data.size()));
  out.resize(start + static_cast<std::size_t>(n));
}

std::string base64_encode(std::string_view data) {
  std::string out;
  append_base64(out, data);
  return out;
}

bool base64_decode_into(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  if (text.empty()) return true;
  out.resize(3 * text.size() / 4);
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(text),
                                static_cast<int>(text.size()));
  if (n < 0) return false;
  out.resize(decoded_size(n, text));
  return true;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // EVP_DecodeBlock skips surrounding whitespace; a sealed secret must be exactly base64.
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '/' || c == '=';
    if (!ok) return std::nullopt;
  }
  std::string out;
  if (!base64_decode_into(text, out)) return std::nullopt;
  return out;
}

}  // namespace ivr
