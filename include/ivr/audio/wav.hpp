#pragma once
// WAV (RIFF/WAVE) in and out, sans-I/O: bytes in, samples out. Accepts what FreeSWITCH and telephony
// tools write: PCM 16-bit, G.711 µ-law/A-law (8-bit), WAVE_FORMAT_EXTENSIBLE wrapping either, any common
// rate, mono or interleaved multi-channel. Everything is decoded to 16-bit linear PCM.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ivr/core/errors.hpp"

namespace ivr::audio {

enum class WavEncoding { pcm16, mulaw, alaw };

struct PcmAudio {
  int sample_rate = 0;
  int channels = 0;
  std::vector<std::int16_t> samples;  // interleaved when channels > 1

  std::size_t frames() const {
    return channels > 0 ? samples.size() / static_cast<std::size_t>(channels) : 0;
  }
  std::int64_t duration_ms() const {
    return sample_rate > 0 ? static_cast<std::int64_t>(frames()) * 1000 / sample_rate : 0;
  }
};

struct WavInfo {
  WavEncoding encoding = WavEncoding::pcm16;
  int sample_rate = 0;
  int channels = 0;
};

// Errors: Errc::unsupported_media_type when the bytes are not RIFF/WAVE at all; Errc::unprocessable for
// a WAV we cannot decode (24/32-bit, float, compressed codecs, missing chunks, absurd rates/channels).
// A data chunk longer than the bytes present (a recorder killed mid-write) is truncated, not refused.
Result<PcmAudio> parse_wav(std::span<const std::uint8_t> bytes, WavInfo* info = nullptr);
Result<PcmAudio> parse_wav(std::string_view bytes, WavInfo* info = nullptr);

// 16-bit PCM WAV bytes (44-byte canonical header).
std::string write_wav(const PcmAudio& audio);

// Channel 0 of interleaved audio (FreeSWITCH puts the caller on the first channel of a stereo stream).
PcmAudio first_channel(const PcmAudio& audio);

// Peak absolute amplitude and RMS (for "is this silence?" checks before calling a provider).
struct Levels {
  int peak = 0;
  double rms = 0;
};
Levels measure_levels(std::span<const std::int16_t> samples);

}  // namespace ivr::audio
