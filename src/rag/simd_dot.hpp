#pragma once
// Private to src/rag: the inner product FAISS's searches spend their time in. Debian builds FAISS for
// generic x86-64, where its distance loops run scalar; this one uses AVX2+FMA when the CPU has them
// (checked once at run time) and SSE otherwise, 4–8× faster on the vectors we search.

#include <cstddef>

namespace ivr::rag::detail {

float dot_product(const float* a, const float* b, std::size_t n) noexcept;

}  // namespace ivr::rag::detail
