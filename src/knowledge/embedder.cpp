#include "ivr/knowledge/embedder.hpp"

#include <algorithm>
#include <cassert>

namespace ivr::knowledge {

float dot(std::span<const float> a, std::span<const float> b) noexcept {
  assert(a.size() == b.size());
  float sum = 0;
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace ivr::knowledge
