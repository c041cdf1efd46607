#include "zip_directory.hpp"

#include <cstdint>

namespace ivr::knowledge::detail {
namespace {

constexpr std::size_t kEocdSize = 22;
constexpr std::size_t kMaxComment = 0xFFFF;
constexpr std::size_t kCdEntrySize = 46;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::size_t kZip64EocdSize = 56;

std::uint64_t le(std::string_view s, std::size_t pos, int bytes) noexcept {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
  return v;
}

}  // namespace

std::optional<ZipDirectory> read_zip_directory(std::string_view bytes, std::size_t max_names) {
  if (bytes.size() < kEocdSize) return std::nullopt;
  // The end-of-central-directory record is the last one whose comment length reaches the end of the file
  // (its comment may itself contain the signature).
  std::size_t eocd = std::string_view::npos;
  const std::size_t lowest =
      bytes.size() > kEocdSize + kMaxComment ? bytes.size() - kEocdSize - kMaxComment : 0;
  for (std::size_t pos = bytes.size() - kEocdSize + 1; pos-- > lowest;) {
    if (bytes.compare(pos, 4, "PK\x05\x06") == 0 &&
        pos + kEocdSize + le(bytes, pos + 20, 2) == bytes.size()) {
      eocd = pos;
      break;
    }
  }
  if (eocd == std::string_view::npos) return std::nullopt;

  std::uint64_t entries = le(bytes, eocd + 10, 2);
  std::uint64_t cd_size = le(bytes, eocd + 12, 4);
  std::uint64_t cd_offset = le(bytes, eocd + 16, 4);
  std::size_t cd_end = eocd;
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < kZip64LocatorSize || bytes.compare(eocd - kZip64LocatorSize, 4, "PK\x06\x07") != 0) {
      return std::nullopt;
    }
    const std::uint64_t z64 = le(bytes, eocd - kZip64LocatorSize + 8, 8);
    if (bytes.size() < kZip64EocdSize || z64 > bytes.size() - kZip64EocdSize ||
        bytes.compare(z64, 4, "PK\x06\x06") != 0)
      return std::nullopt;
    entries = le(bytes, z64 + 32, 8);
    cd_size = le(bytes, z64 + 40, 8);
    cd_offset = le(bytes, z64 + 48, 8);
    cd_end = z64;
  }
  if (cd_size > cd_end) return std::nullopt;
  // Each entry takes at least 46 bytes: a count the directory cannot hold is a lie.
  if (entries > cd_size / kCdEntrySize) return std::nullopt;
  // Archives with data prepended (self-extractors) have offsets relative to the archive's start: fall back
  // to "the directory ends where the end record begins".
  std::uint64_t pos = cd_offset;
  if (entries != 0 && (pos >= cd_end || bytes.compare(pos, 4, "PK\x01\x02") != 0)) pos = cd_end - cd_size;

  ZipDirectory dir;
  dir.declared_entries = entries;
  for (std::uint64_t i = 0; i < entries; ++i) {
    if (pos + kCdEntrySize > cd_end || bytes.compare(pos, 4, "PK\x01\x02") != 0) return std::nullopt;
    const std::uint64_t name_len = le(bytes, pos + 28, 2);
    const std::uint64_t extra_len = le(bytes, pos + 30, 2);
    const std::uint64_t comment_len = le(bytes, pos + 32, 2);
    const std::uint64_t next = pos + kCdEntrySize + name_len + extra_len + comment_len;
    if (next > cd_end) return std::nullopt;
    if (dir.names.size() < max_names) dir.names.emplace_back(bytes.substr(pos + kCdEntrySize, name_len));
    pos = next;
  }
  return dir;
}

}  // namespace ivr::knowledge::detail
