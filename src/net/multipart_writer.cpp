#include "ivr/net/multipart_writer.hpp"

#include "ivr/core/ids.hpp"

#include <cassert>
#include <utility>

namespace ivr::net {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// 122 random bits from the UUID generator (OpenSSL RAND_bytes): a collision with part data is
// astronomically unlikely, and add_part() re-draws anyway when one happens.
std::string random_boundary() {
  std::string boundary = "ivr-";
  for (char c : random_uuid()) {
    if (c != '-') boundary.push_back(c);
  }
  return boundary;
}

[[maybe_unused]] bool is_valid_boundary(std::string_view b) {
  if (b.empty() || b.size() > 70 || b.back() == ' ') return false;
  for (char c : b) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("'()+_,-./:=? ").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// Quoted-string content for Content-Disposition parameters, escaped as the HTML form encoding does.
void append_quoted(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out += "%22";
        break;
      case '\r':
        out += "%0D";
        break;
      case '\n':
        out += "%0A";
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

MultipartWriter::MultipartWriter() : boundary_(random_boundary()) {}

MultipartWriter::MultipartWriter(std::string boundary) : boundary_(std::move(boundary)) {
  assert(is_valid_boundary(boundary_) && "multipart boundary outside RFC 2046 bchars");
}

void MultipartWriter::add_field(std::string_view name, std::string_view value) {
  Part part;
  part.head = "Content-Disposition: form-data; name=";
  append_quoted(part.head, name);
  part.head += kCrlf;
  part.data.assign(value);
  add_part(std::move(part));
}

void MultipartWriter::add_file(std::string_view name, std::string_view filename,
                               std::string_view content_type, std::string data) {
  Part part;
  part.head = "Content-Disposition: form-data; name=";
  append_quoted(part.head, name);
  part.head += "; filename=";
  append_quoted(part.head, filename);
  part.head += kCrlf;
  part.head += "Content-Type: ";
  if (content_type.empty()) {
    part.head += "application/octet-stream";
  } else {
    for (char c : content_type) {
      if (c != '\r' && c != '\n') part.head.push_back(c);  // no header injection through a media type
    }
  }
  part.head += kCrlf;
  part.data = std::move(data);
  add_part(std::move(part));
}

void MultipartWriter::add_part(Part part) {
  parts_.push_back(std::move(part));
  // Checking for the bare boundary (not only "\r\n--" + boundary) is stricter than RFC 2046 needs and
  // keeps the rule obvious. Re-drawing only happens on a collision, so the loop runs once in practice.
  for (;;) {
    bool any = false;
    for (const auto& p : parts_) {
      if (collides(p)) {
        any = true;
        break;
      }
    }
    if (!any) return;
    boundary_ = random_boundary();
  }
}

bool MultipartWriter::collides(const Part& part) const {
  return part.head.find(boundary_) != std::string::npos || part.data.find(boundary_) != std::string::npos;
}

std::string MultipartWriter::content_type() const {
  // Boundaries with tspecials (allowed by RFC 2046, e.g. ':' or '/') must be a quoted-string here.
  const bool needs_quotes = boundary_.find_first_of("()<>@,;:\\\"/[]?= ") != std::string::npos;
  return needs_quotes ? "multipart/form-data; boundary=\"" + boundary_ + "\""
                      : "multipart/form-data; boundary=" + boundary_;
}

std::string MultipartWriter::body() const {
  std::size_t size = boundary_.size() + 6;  // closing delimiter
  for (const auto& p : parts_) size += boundary_.size() + 8 + p.head.size() + p.data.size();
  std::string out;
  out.reserve(size);
  for (const auto& p : parts_) {
    out += "--";
    out += boundary_;
    out += kCrlf;
    out += p.head;
    out += kCrlf;
    out += p.data;
    out += kCrlf;
  }
  out += "--";
  out += boundary_;
  out += "--";
  out += kCrlf;
  return out;
}

}  // namespace ivr::net
