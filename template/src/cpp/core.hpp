// The numeric core: plain C++17 with no Python dependency, shared by every binding.
// From kParallelMinSize elements on, each function runs on up to num_threads() threads
// (parallel.hpp), with the same result for any thread count.
#pragma once

#include <cstddef>

#include "parallel.hpp"

namespace core {

struct Moments {
  double mean;
  double variance;  // population variance (ddof = 0)
};

// How axpy writes `out`. `streaming` sends a large result straight to memory (non-temporal
// stores), which saves the read of each cache line that an ordinary store makes first: the
// fastest way to overwrite a big buffer that is not read again at once. Memory fresh from the
// OS has just been zeroed through the caches, though, and there `cached` is faster.
enum class Stores { cached, streaming };

// out[i] = a * x[i] + y[i]. out may be x or y itself (updated in place) but must not
// overlap them otherwise.
void axpy(float a, const float* x, const float* y, float* out, std::size_t n,
          Stores stores) noexcept;
void axpy(double a, const double* x, const double* y, double* out, std::size_t n,
          Stores stores) noexcept;

// Whether axpy's `out` overlaps an input of n elements without being that same array: what
// axpy's callers must rule out, as in-place (out == x or out == y) is fine.
bool overlaps_partly(const float* out, const float* in, std::size_t n) noexcept;
bool overlaps_partly(const double* out, const double* in, std::size_t n) noexcept;

// Sum of x[i] * y[i], accumulated in the input's precision (as BLAS does); 0 for n == 0.
// Throws std::bad_alloc if a large input's per-chunk sums find no memory.
float dot(const float* x, const float* y, std::size_t n);
double dot(const double* x, const double* y, std::size_t n);

// Mean and population variance in one pass over memory, accumulated in double;
// NaN for both when n == 0. Throws std::bad_alloc as dot does.
Moments moments(const float* x, std::size_t n);
Moments moments(const double* x, std::size_t n);

// The sums listed in sums.def, each a reduction of one array: `double name(const float* x,
// std::size_t n)` and its double overload, accumulated in double; 0 for n == 0. Throw
// std::bad_alloc as dot does.
#define CORE_SUM(name, doc)                   \
  double name(const float* x, std::size_t n); \
  double name(const double* x, std::size_t n);
#include "sums.def"
#undef CORE_SUM

// The kernels chosen for this CPU at first use: "avx512", "avx2" or "baseline".
const char* simd_level() noexcept;

}  // namespace core
