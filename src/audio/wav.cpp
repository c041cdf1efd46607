#include "ivr/audio/wav.hpp"

#include <cmath>
#include <cstring>

#include "ivr/audio/g711.hpp"

namespace ivr::audio {
namespace {

constexpr std::uint16_t kFormatPcm = 1;
constexpr std::uint16_t kFormatAlaw = 6;
constexpr std::uint16_t kFormatMulaw = 7;
constexpr std::uint16_t kFormatExtensible = 0xFFFE;

std::uint16_t le16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

void put16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

boost::system::error_code unprocessable() {
  return make_error_code(Errc::unprocessable);
}

}  // namespace

Result<PcmAudio> parse_wav(std::string_view bytes, WavInfo* info) {
  return parse_wav(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), info);
}

Result<PcmAudio> parse_wav(std::span<const std::uint8_t> bytes, WavInfo* info) {
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 ||
      std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
    return make_error_code(Errc::unsupported_media_type);
  }
  bool have_fmt = false;
  std::uint16_t format = 0;
  std::uint16_t channels = 0;
  std::uint32_t rate = 0;
  std::uint16_t bits = 0;
  std::size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    const std::uint8_t* chunk = bytes.data() + pos;
    const std::uint32_t declared = le32(chunk + 4);
    const std::size_t body = pos + 8;
    const std::size_t available = bytes.size() - body;
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      if (declared < 16 || declared > available) return unprocessable();
      format = le16(chunk + 8);
      channels = le16(chunk + 10);
      rate = le32(chunk + 12);
      bits = le16(chunk + 22);
      if (format == kFormatExtensible) {
        // The real format is the first two bytes of the SubFormat GUID (offset 24 in the extension).
        if (declared < 40) return unprocessable();
        format = le16(chunk + 8 + 24);
      }
      have_fmt = true;
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      if (!have_fmt) return unprocessable();
      if (channels < 1 || channels > 8 || rate < 4000 || rate > 192'000) return unprocessable();
      WavEncoding encoding;
      if (format == kFormatPcm && bits == 16) {
        encoding = WavEncoding::pcm16;
      } else if (format == kFormatMulaw && bits == 8) {
        encoding = WavEncoding::mulaw;
      } else if (format == kFormatAlaw && bits == 8) {
        encoding = WavEncoding::alaw;
      } else {
        return unprocessable();
      }
      // Recorders killed mid-write leave the declared size too large (or 0xFFFFFFFF): take what is there.
      const std::size_t length = std::min<std::size_t>(declared, available);
      std::span<const std::uint8_t> data(chunk + 8, length);
      PcmAudio audio;
      audio.sample_rate = static_cast<int>(rate);
      audio.channels = channels;
      if (encoding == WavEncoding::pcm16) {
        const std::size_t count = length / 2 / channels * channels;
        audio.samples.resize(count);
        for (std::size_t i = 0; i < count; ++i)
          audio.samples[i] = static_cast<std::int16_t>(le16(data.data() + 2 * i));
      } else {
        const std::size_t count = length / channels * channels;
        data = data.first(count);
        if (encoding == WavEncoding::mulaw) {
          decode_mulaw(data, audio.samples);
        } else {
          decode_alaw(data, audio.samples);
        }
      }
      if (info != nullptr) *info = WavInfo{encoding, audio.sample_rate, audio.channels};
      return audio;
    }
    // Chunks are word-aligned: an odd size is followed by one pad byte.
    const std::size_t next = body + static_cast<std::size_t>(declared) + (declared & 1u);
    if (next <= pos) return unprocessable();
    pos = next;
  }
  return unprocessable();
}

std::string write_wav(const PcmAudio& audio) {
  const std::uint32_t data_bytes = static_cast<std::uint32_t>(audio.samples.size() * 2);
  const std::uint16_t channels = static_cast<std::uint16_t>(audio.channels);
  const std::uint32_t rate = static_cast<std::uint32_t>(audio.sample_rate);
  std::string out;
  out.reserve(44 + data_bytes);
  out += "RIFF";
  put32(out, 36 + data_bytes);
  out += "WAVEfmt ";
  put32(out, 16);
  put16(out, kFormatPcm);
  put16(out, channels);
  put32(out, rate);
  put32(out, rate * channels * 2);
  put16(out, static_cast<std::uint16_t>(channels * 2));
  put16(out, 16);
  out += "data";
  put32(out, data_bytes);
  for (std::int16_t s : audio.samples) put16(out, static_cast<std::uint16_t>(s));
  return out;
}

PcmAudio first_channel(const PcmAudio& audio) {
  if (audio.channels <= 1) return audio;
  PcmAudio mono;
  mono.sample_rate = audio.sample_rate;
  mono.channels = 1;
  mono.samples.reserve(audio.frames());
  for (std::size_t i = 0; i < audio.samples.size(); i += static_cast<std::size_t>(audio.channels)) {
    mono.samples.push_back(audio.samples[i]);
  }
  return mono;
}

Levels measure_levels(std::span<const std::int16_t> samples) {
  Levels levels;
  if (samples.empty()) return levels;
  double sum = 0;
  for (std::int16_t s : samples) {
    const int a = std::abs(static_cast<int>(s));
    levels.peak = std::max(levels.peak, a);
    sum += static_cast<double>(s) * s;
  }
  levels.rms = std::sqrt(sum / static_cast<double>(samples.size()));
  return levels;
}

}  // namespace ivr::audio
