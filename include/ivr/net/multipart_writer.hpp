#pragma once
// multipart/form-data bodies (RFC 7578) built in memory, sans-I/O: parts in, one body string and its
// Content-Type out. Used by provider adapters that upload audio (OpenAI-compatible and ElevenLabs STT).
//
// The boundary is random and is re-chosen whenever a part (its headers or its data) contains it, so the
// delimiter can never occur inside a part. Because a later part may force a new boundary, read
// content_type() and body() only after the last add_…() call; both always agree with each other.
// Not thread-safe (a value type: build, read, drop).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ivr::net {

class MultipartWriter {
 public:
  // A random boundary: "ivr-" + the 32 hex digits of a random (v4) UUID.
  MultipartWriter();
  // A preferred boundary (deterministic output in tests). Precondition: 1..70 characters of RFC 2046
  // `bchars` (letters, digits, '\'()+_,-./:=? and space) not ending in a space. It is still replaced by a
  // random one when a part contains it.
  explicit MultipartWriter(std::string boundary);

  // A text field. Field names (and file names) are quoted; '"', CR and LF in them are percent-encoded as
  // browsers do, so no name can break the part's headers.
  void add_field(std::string_view name, std::string_view value);
  // A file field. `content_type` empty means application/octet-stream; CR/LF in it are dropped.
  void add_file(std::string_view name, std::string_view filename, std::string_view content_type,
                std::string data);

  const std::string& boundary() const { return boundary_; }
  // "multipart/form-data; boundary=<boundary>"
  std::string content_type() const;
  // The whole body including the closing delimiter. With no parts: just the closing delimiter.
  std::string body() const;
  std::size_t part_count() const { return parts_.size(); }

 private:
  struct Part {
    std::string head;  // header lines, each ending in CRLF, without the blank line
    std::string data;
  };

  void add_part(Part part);
  bool collides(const Part& part) const;

  std::vector<Part> parts_;
  std::string boundary_;
};

}  // namespace ivr::net
