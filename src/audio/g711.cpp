#include "ivr/audio/g711.hpp"

#include <array>

namespace ivr::audio {
namespace {

constexpr int kMulawBias = 0x84;
constexpr int kMulawClip = 32635;

constexpr std::int16_t decode_mulaw_sample(std::uint8_t code) {
  code = static_cast<std::uint8_t>(~code);
  const int sign = code & 0x80;
  const int exponent = (code >> 4) & 0x07;
  const int mantissa = code & 0x0f;
  int sample = ((mantissa << 3) + kMulawBias) << exponent;
  sample -= kMulawBias;
  return static_cast<std::int16_t>(sign != 0 ? -sample : sample);
}

constexpr std::int16_t decode_alaw_sample(std::uint8_t code) {
  code ^= 0x55;
  const int sign = code & 0x80;
  const int exponent = (code >> 4) & 0x07;
  const int mantissa = code & 0x0f;
  int sample = exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return static_cast<std::int16_t>(sign != 0 ? sample : -sample);
}

template <class F>
constexpr std::array<std::int16_t, 256> make_table(F decode) {
  std::array<std::int16_t, 256> table{};
  for (int i = 0; i < 256; ++i) table[static_cast<std::size_t>(i)] = decode(static_cast<std::uint8_t>(i));
  return table;
}

constexpr auto kMulawTable = make_table(decode_mulaw_sample);
constexpr auto kAlawTable = make_table(decode_alaw_sample);

int top_bit_segment(int value) {
  // Index of the highest set bit above bit 7, 0..7 (the G.711 "exponent").
  int segment = 0;
  for (int v = value >> 8; v != 0 && segment < 7; v >>= 1) ++segment;
  return segment;
}

}  // namespace

std::int16_t mulaw_to_linear(std::uint8_t code) noexcept {
  return kMulawTable[code];
}
std::int16_t alaw_to_linear(std::uint8_t code) noexcept {
  return kAlawTable[code];
}

std::uint8_t linear_to_mulaw(std::int16_t sample) noexcept {
  int value = sample;
  const int sign = value < 0 ? 0x80 : 0;
  if (value < 0) value = -value;
  if (value > kMulawClip) value = kMulawClip;
  value += kMulawBias;
  const int exponent = top_bit_segment(value);
  const int mantissa = (value >> (exponent + 3)) & 0x0f;
  return static_cast<std::uint8_t>(~(sign | (exponent << 4) | mantissa));
}

std::uint8_t linear_to_alaw(std::int16_t sample) noexcept {
  int value = sample;
  const int sign = value >= 0 ? 0x80 : 0;
  if (value < 0) value = -value - 1;
  if (value > 32767) value = 32767;
  int code;
  if (value < 256) {
    code = value >> 4;
  } else {
    const int exponent = top_bit_segment(value);
    code = (exponent << 4) | ((value >> (exponent + 3)) & 0x0f);
  }
  return static_cast<std::uint8_t>((sign | code) ^ 0x55);
}

void decode_mulaw(std::span<const std::uint8_t> in, std::vector<std::int16_t>& out) {
  out.reserve(out.size() + in.size());
  for (std::uint8_t c : in) out.push_back(kMulawTable[c]);
}

void decode_alaw(std::span<const std::uint8_t> in, std::vector<std::int16_t>& out) {
  out.reserve(out.size() + in.size());
  for (std::uint8_t c : in) out.push_back(kAlawTable[c]);
}

void encode_mulaw(std::span<const std::int16_t> in, std::vector<std::uint8_t>& out) {
  out.reserve(out.size() + in.size());
  for (std::int16_t s : in) out.push_back(linear_to_mulaw(s));
}

void encode_alaw(std::span<const std::int16_t> in, std::vector<std::uint8_t>& out) {
  out.reserve(out.size() + in.size());
  for (std::int16_t s : in) out.push_back(linear_to_alaw(s));
}

}  // namespace ivr::audio
