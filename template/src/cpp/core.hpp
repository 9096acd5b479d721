// The numeric core: plain C++17 with no Python dependency, shared by every binding.
#pragma once

#include <cstddef>

namespace core {

struct Moments {
  double mean;
  double variance;  // population variance (ddof = 0)
};

// out[i] = a * x[i] + y[i]; out may alias neither x nor y.
void axpy(float a, const float* x, const float* y, float* out, std::size_t n) noexcept;
void axpy(double a, const double* x, const double* y, double* out, std::size_t n) noexcept;

// Sum of x[i] * y[i], accumulated in the input's precision (as BLAS does); 0 for n == 0.
float dot(const float* x, const float* y, std::size_t n) noexcept;
double dot(const double* x, const double* y, std::size_t n) noexcept;

// Mean and population variance in one pass over memory, accumulated in double;
// NaN for both when n == 0.
Moments moments(const float* x, std::size_t n) noexcept;
Moments moments(const double* x, std::size_t n) noexcept;

// The kernels chosen for this CPU at first use: "avx512", "avx2" or "baseline".
const char* simd_level() noexcept;

}  // namespace core
