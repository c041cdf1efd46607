#pragma once
// Private to src/providers: the few simdjson on-demand reads the realtime adapters' event parsers share
// (the per-frame path, where nlohmann is too slow).

#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace ivr::providers::json_fields {

using simdjson::ondemand::object;

// Starts parsing `text` in place. simdjson reads SIMDJSON_PADDING bytes past the end: room is made once in
// the (reused) buffer. False when the text is not JSON.
inline bool iterate(simdjson::ondemand::parser& parser, std::string& text,
                    simdjson::ondemand::document& doc) {
  if (text.capacity() < text.size() + simdjson::SIMDJSON_PADDING)
    text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  return !parser.iterate(text.data(), text.size(), text.capacity()).get(doc);
}

// A string field; false when missing or not a string.
inline bool field(object& obj, std::string_view name, std::string_view& out) {
  return !obj[name].get_string().get(out);
}

inline bool assign_field(object& obj, std::string_view name, std::string& out) {
  std::string_view v;
  if (!field(obj, name, v)) return false;
  out.assign(v);
  return true;
}

inline bool int_field(object& obj, std::string_view name, std::int64_t& out) {
  return !obj[name].get_int64().get(out);
}

inline bool sub_object(object& obj, std::string_view name, object& out) {
  return !obj[name].get_object().get(out);
}

}  // namespace ivr::providers::json_fields
