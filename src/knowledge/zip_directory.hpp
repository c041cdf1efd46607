#pragma once
// Reads a zip archive's central directory straight from its bytes, without decompressing anything
// (internal). Used to sniff DOCX and to refuse archives with too many entries before libzip allocates
// for each of them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ivr::knowledge::detail {

struct ZipDirectory {
  std::uint64_t declared_entries = 0;  // from the end-of-central-directory record (zip64 aware)
  std::vector<std::string> names;      // entry names in directory order, up to max_names
};

// nullopt when there is no end-of-central-directory record or the directory does not parse (damaged or
// truncated archive). Names beyond max_names are not collected (the directory is still checked).
std::optional<ZipDirectory> read_zip_directory(std::string_view bytes, std::size_t max_names = SIZE_MAX);

}  // namespace ivr::knowledge::detail
