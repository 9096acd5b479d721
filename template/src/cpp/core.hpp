// The numeric core: plain C++17 with no Python dependency, shared by every binding.
#pragma once

#include <cstddef>

namespace core {

struct Moments {
  double mean;
  double variance;  // population variance (ddof = 0)
};

// out[i] = a * x[i] + y[i]; out may alias neither x nor y.
template <typename T>
void axpy(T a, const T* x, const T* y, T* out, std::size_t n) noexcept;

// Sum of x[i] * y[i], accumulated in T (as BLAS does); 0 for n == 0.
template <typename T>
T dot(const T* x, const T* y, std::size_t n) noexcept;

// Mean and population variance in one pass over memory, accumulated in double;
// NaN for both when n == 0.
template <typename T>
Moments moments(const T* x, std::size_t n) noexcept;

}  // namespace core
