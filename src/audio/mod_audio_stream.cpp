#include "ivr/audio/mod_audio_stream.hpp"

#include "ivr/core/base64.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "ivr/audio/wav.hpp"
#include "ivr/core/ids.hpp"

namespace ivr::audio {
namespace {

using json = nlohmann::json;

Result<StreamMetadata> fail(Errc code, std::string text, std::string* reason) {
  if (reason != nullptr) *reason = std::move(text);
  return make_error_code(code);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One setter shared by the three sources, so a key means the same thing in a frame, a query or a header.
// Returns an empty string on success, else the reason; `code` says which error it is.
std::string set_field(StreamMetadata& m, std::string_view key, std::string_view value, Errc& code) {
  auto set_uuid = [&](std::string& field, Errc bad) -> std::string {
    if (value.empty()) return {};
    auto norm = normalize_uuid(value);
    if (!norm) {
      code = bad;
      return std::string(key) + " is not a UUID";
    }
    field = std::move(*norm);
    return {};
  };
  if (key == "domain_uuid") return set_uuid(m.domain_uuid, Errc::invalid_domain_uuid);
  if (key == "secretary_id") return set_uuid(m.secretary_id, Errc::unprocessable);
  if (key == "call_uuid") return set_uuid(m.call_uuid, Errc::unprocessable);
  if (key == "caller_id") {
    m.caller_id = value;
    return {};
  }
  if (key == "domain_name") {
    m.domain_name = value;
    return {};
  }
  if (key == "freeswitch_node") {
    m.freeswitch_node = value;
    return {};
  }
  if (key == "playback") {
    if (value.empty()) return {};
    const std::string v = lower(value);
    if (v == "stream") {
      m.playback = PlaybackMode::stream;
    } else if (v == "file") {
      m.playback = PlaybackMode::file;
    } else {
      code = Errc::unprocessable;
      return "playback must be \"stream\" or \"file\"";
    }
    return {};
  }
  if (key == "sample_rate" || key == "rate") {
    if (value.empty()) return {};
    const std::string v = lower(value);
    if (v == "8k" || v == "8000") {
      m.sample_rate = 8000;
    } else if (v == "16k" || v == "16000") {
      m.sample_rate = 16000;
    } else {
      code = Errc::unprocessable;
      return std::string(key) + " must be 8000 or 16000";
    }
    return {};
  }
  if (key == "mix" || key == "channels") {
    if (value.empty()) return {};
    const std::string v = lower(value);
    if (v == "mono" || v == "mixed" || v == "1") {
      m.channels = 1;
    } else if (v == "stereo" || v == "2") {
      m.channels = 2;
    } else {
      code = Errc::unprocessable;
      return std::string(key) + " must be mono, mixed or stereo";
    }
    return {};
  }
  for (auto& [k, v] : m.extra) {
    if (k == key) {
      v = value;
      return {};
    }
  }
  m.extra.emplace_back(std::string(key), std::string(value));
  return {};
}

bool is_known_key(std::string_view key) {
  static constexpr std::string_view kKnown[] = {
      "domain_uuid", "secretary_id", "call_uuid", "caller_id", "domain_name", "freeswitch_node",
      "playback",    "sample_rate",  "rate",      "mix",       "channels"};
  return std::find(std::begin(kKnown), std::end(kKnown), key) != std::end(kKnown);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Query-string decoding: %XX and '+'; a malformed escape is kept literally (tolerant, like most servers).
std::string query_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(PlaybackMode mode) noexcept {
  return mode == PlaybackMode::file ? "file" : "stream";
}

Result<StreamMetadata> parse_stream_metadata(std::string_view text, std::string* reason) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return fail(Errc::invalid_json, "metadata frame is not JSON", reason);
  if (!doc.is_object()) return fail(Errc::bad_request, "metadata frame is not a JSON object", reason);
  StreamMetadata m;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const json& value = it.value();
    if (!is_known_key(key)) {
      m.extra.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
      continue;
    }
    if (value.is_null()) continue;
    std::string text_value;
    if (value.is_string()) {
      text_value = value.get<std::string>();
    } else if (value.is_number_integer() &&
               (key == "caller_id" || key == "sample_rate" || key == "rate" || key == "channels")) {
      // FreeSWITCH caller ids are digits; a Lua JSON encoder may well emit them as numbers.
      text_value = value.dump();
    } else {
      return fail(Errc::bad_request, "metadata key " + key + " must be a string", reason);
    }
    Errc code = Errc::ok;
    if (auto why = set_field(m, key, text_value, code); !why.empty()) return fail(code, why, reason);
  }
  return m;
}

Result<StreamMetadata> parse_stream_target(std::string_view target, std::string* reason) {
  std::string_view path = target;
  std::string_view query;
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  if (const auto h = query.find('#'); h != std::string_view::npos) query = query.substr(0, h);
  constexpr std::string_view kPrefix = "/stream/";
  if (!path.starts_with(kPrefix)) return fail(Errc::not_found, "not a /stream/ path", reason);
  path.remove_prefix(kPrefix.size());
  if (path.ends_with('/')) path.remove_suffix(1);
  std::string_view first = path;
  std::string_view second;
  if (const auto slash = path.find('/'); slash != std::string_view::npos) {
    first = path.substr(0, slash);
    second = path.substr(slash + 1);
    if (second.find('/') != std::string_view::npos) {
      return fail(Errc::not_found, "too many path segments after /stream/", reason);
    }
  }
  StreamMetadata m;
  std::string_view call = second.empty() ? first : second;
  auto call_uuid = normalize_uuid(call);
  if (!call_uuid) return fail(Errc::unprocessable, "call uuid in the path is not a UUID", reason);
  m.call_uuid = std::move(*call_uuid);
  if (!second.empty()) {
    auto domain = normalize_uuid(first);
    if (!domain) return fail(Errc::invalid_domain_uuid, "domain uuid in the path is not a UUID", reason);
    m.domain_uuid = std::move(*domain);
  }
  const std::string path_domain = m.domain_uuid;
  const std::string path_call = m.call_uuid;

  StreamMetadata q;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string key = query_decode(pair.substr(0, eq));
    const std::string value =
        eq == std::string_view::npos ? std::string() : query_decode(pair.substr(eq + 1));
    Errc code = Errc::ok;
    if (auto why = set_field(q, key, value, code); !why.empty()) return fail(code, "query: " + why, reason);
  }
  // The path and the query must not disagree about identity.
  if (!path_domain.empty() && !q.domain_uuid.empty() && q.domain_uuid != path_domain) {
    return fail(Errc::domain_mismatch, "domain_uuid differs between the path and the query", reason);
  }
  if (!q.call_uuid.empty() && q.call_uuid != path_call) {
    return fail(Errc::conflict, "call_uuid differs between the path and the query", reason);
  }
  StreamMetadata path_only;
  path_only.domain_uuid = path_domain;
  path_only.call_uuid = path_call;
  return merge_stream_metadata(nullptr, &path_only, &q, reason);
}

Result<StreamMetadata> parse_stream_headers(const HeaderList& headers, std::string* reason) {
  StreamMetadata m;
  for (const auto& [name, value] : headers) {
    const std::string n = lower(name);
    std::string key;
    if (n == "x-domain-uuid") {
      key = "domain_uuid";
    } else if (n == "x-secretary-id") {
      key = "secretary_id";
    } else if (n == "x-caller-id") {
      key = "caller_id";
    } else if (n == "x-playback") {
      key = "playback";
    } else if (n == "x-freeswitch-node") {
      key = "freeswitch_node";
    } else {
      continue;
    }
    Errc code = Errc::ok;
    if (auto why = set_field(m, key, value, code); !why.empty())
      return fail(code, "header " + n + ": " + why, reason);
  }
  return m;
}

Result<StreamMetadata> merge_stream_metadata(const StreamMetadata* headers, const StreamMetadata* url,
                                             const StreamMetadata* frame, std::string* reason) {
  struct Source {
    const StreamMetadata* m;
    const char* name;
  };
  const Source sources[] = {{headers, "headers"}, {url, "url"}, {frame, "metadata frame"}};
  StreamMetadata out;
  auto identity = [&](std::string StreamMetadata::*field, const char* field_name) -> std::string {
    const char* from = nullptr;
    for (const auto& s : sources) {
      if (s.m == nullptr || (s.m->*field).empty()) continue;
      if (from == nullptr) {
        out.*field = s.m->*field;
        from = s.name;
      } else if (out.*field != s.m->*field) {
        return std::string(field_name) + " differs between " + from + " and " + s.name;
      }
    }
    return {};
  };
  if (auto why = identity(&StreamMetadata::domain_uuid, "domain_uuid"); !why.empty()) {
    return fail(Errc::domain_mismatch, why, reason);
  }
  if (auto why = identity(&StreamMetadata::secretary_id, "secretary_id"); !why.empty()) {
    return fail(Errc::conflict, why, reason);
  }
  if (auto why = identity(&StreamMetadata::call_uuid, "call_uuid"); !why.empty()) {
    return fail(Errc::conflict, why, reason);
  }
  auto first_text = [&](std::string StreamMetadata::*field) {
    for (const auto& s : sources) {
      if (s.m != nullptr && !(s.m->*field).empty()) {
        out.*field = s.m->*field;
        return;
      }
    }
  };
  first_text(&StreamMetadata::caller_id);
  first_text(&StreamMetadata::domain_name);
  first_text(&StreamMetadata::freeswitch_node);
  for (const auto& s : sources) {
    if (s.m == nullptr) continue;
    if (!out.playback) out.playback = s.m->playback;
    if (!out.sample_rate) out.sample_rate = s.m->sample_rate;
    if (!out.channels) out.channels = s.m->channels;
    out.extra.insert(out.extra.end(), s.m->extra.begin(), s.m->extra.end());
  }
  return out;
}

// ---- caller frames ----

CallerFrameDecoder::CallerFrameDecoder(CallAudioFormat format, int max_frame_ms) : format_(format) {
  if (format_.sample_rate <= 0 || format_.channels < 1 || format_.channels > 2 || max_frame_ms < 20) {
    throw std::invalid_argument("CallerFrameDecoder: bad format");
  }
  const std::size_t bytes_per_ms =
      static_cast<std::size_t>(format_.sample_rate) * 2 * static_cast<std::size_t>(format_.channels) / 1000;
  bytes_per_20ms_ = bytes_per_ms * 20;
  max_bytes_ = bytes_per_ms * static_cast<std::size_t>(max_frame_ms);
}

CallerFrameDecoder::Reject CallerFrameDecoder::decode(std::string_view frame,
                                                      std::vector<std::int16_t>& out) {
  const std::size_t sample_frame = 2 * static_cast<std::size_t>(format_.channels);
  Reject reject = Reject::none;
  if (frame.empty()) {
    reject = Reject::empty;
  } else if (frame.size() % 2 != 0) {
    reject = Reject::odd_length;
  } else if (frame.size() % sample_frame != 0) {
    reject = Reject::partial_sample_frame;
  } else if (frame.size() > max_bytes_) {
    reject = Reject::too_large;
  }
  if (reject != Reject::none) {
    ++rejected_;
    return reject;
  }
  ++accepted_;
  if (frame.size() % bytes_per_20ms_ != 0) ++irregular_;
  const std::size_t n = frame.size() / sample_frame;
  const std::size_t start = out.size();
  out.resize(start + n);
  const auto* p = reinterpret_cast<const unsigned char*>(frame.data());
  // Little-endian on the wire whatever the host: assemble each sample from its bytes (one load on x86).
  for (std::size_t i = 0; i < n; ++i, p += sample_frame) {
    out[start + i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(p[0] | (p[1] << 8)));
  }
  samples_ += n;
  return Reject::none;
}

std::string_view CallerFrameDecoder::describe(Reject reject) noexcept {
  switch (reject) {
    case Reject::none:
      return "ok";
    case Reject::empty:
      return "empty binary frame";
    case Reject::odd_length:
      return "odd-length binary frame (not 16-bit PCM)";
    case Reject::partial_sample_frame:
      return "binary frame not a whole number of stereo sample frames";
    case Reject::too_large:
      return "binary frame longer than the maximum frame duration";
  }
  return "unknown";
}

// ---- streamAudio ----

namespace {

constexpr std::string_view kSuffix = "\"}}";

// Samples as L16 little-endian bytes, base64-encoded onto `out`.
void append_samples_base64(std::span<const std::int16_t> samples, std::string& out) {
  if constexpr (std::endian::native == std::endian::little) {
    append_base64(out, {reinterpret_cast<const char*>(samples.data()), samples.size() * 2});
  } else {
    std::vector<std::uint8_t> le(samples.size() * 2);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const auto u = static_cast<std::uint16_t>(samples[i]);
      le[2 * i] = static_cast<std::uint8_t>(u & 0xff);
      le[2 * i + 1] = static_cast<std::uint8_t>(u >> 8);
    }
    append_base64(out, {reinterpret_cast<const char*>(le.data()), le.size()});
  }
}

std::string prefix_for(std::string_view type, int rate) {
  return std::string(R"({"type":"streamAudio","data":{"audioDataType":")") + std::string(type) +
         R"(","sampleRate":)" + std::to_string(rate) + R"(,"audioData":")";
}

}  // namespace

StreamAudioWriter::StreamAudioWriter(int sample_rate)
    : sample_rate_(sample_rate),
      raw_prefix_(prefix_for("raw", sample_rate)),
      wav_prefix_(prefix_for("wav", sample_rate)) {
  if (sample_rate < 8000 || sample_rate > 64000)
    throw std::invalid_argument("StreamAudioWriter: bad sample rate");
}

std::size_t StreamAudioWriter::raw_size(std::size_t samples) const {
  return raw_prefix_.size() + 4 * ((samples * 2 + 2) / 3) + kSuffix.size();
}

void StreamAudioWriter::write_raw(std::span<const std::int16_t> samples, std::string& out) const {
  out.reserve(raw_size(samples.size()));
  out.assign(raw_prefix_);
  append_samples_base64(samples, out);
  out.append(kSuffix);
}

void StreamAudioWriter::write_wav(std::span<const std::int16_t> samples, std::string& out) const {
  // WAV is for the rare file-mode case where raw cannot carry the rate; a copy here is fine.
  PcmAudio audio;
  audio.sample_rate = sample_rate_;
  audio.channels = 1;
  audio.samples.assign(samples.begin(), samples.end());
  const std::string bytes = ::ivr::audio::write_wav(audio);
  out.assign(wav_prefix_);
  append_base64(out, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  out.append(kSuffix);
}

std::string StreamAudioWriter::raw(std::span<const std::int16_t> samples) const {
  std::string out;
  write_raw(samples, out);
  return out;
}

}  // namespace ivr::audio
