#pragma once
// G.711 µ-law and A-law (ITU-T G.711), sample by sample. Table-free encode, table decode.

#include <cstdint>
#include <span>
#include <vector>

namespace ivr::audio {

std::int16_t mulaw_to_linear(std::uint8_t code) noexcept;
std::uint8_t linear_to_mulaw(std::int16_t sample) noexcept;
std::int16_t alaw_to_linear(std::uint8_t code) noexcept;
std::uint8_t linear_to_alaw(std::int16_t sample) noexcept;

void decode_mulaw(std::span<const std::uint8_t> in, std::vector<std::int16_t>& out);
void decode_alaw(std::span<const std::uint8_t> in, std::vector<std::int16_t>& out);
void encode_mulaw(std::span<const std::int16_t> in, std::vector<std::uint8_t>& out);
void encode_alaw(std::span<const std::int16_t> in, std::vector<std::uint8_t>& out);

}  // namespace ivr::audio
