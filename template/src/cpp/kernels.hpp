// Internal: the table of kernels each instruction-set variant provides, and the variants.
#pragma once

#include <cstddef>

#include "core.hpp"

namespace core {

// Moments of a part of an array, relative to a shift shared by every part (see kernels.inl).
struct MomentsPart {
  double mean;
  double shifted_mean;
  double m2;  // sum of squared deviations from the mean
  double count;
};

struct KernelTable {
  const char* name;
  void (*axpy_f32)(float, const float*, const float*, float*, std::size_t, Stores) noexcept;
  void (*axpy_f64)(double, const double*, const double*, double*, std::size_t, Stores) noexcept;
  float (*dot_f32)(const float*, const float*, std::size_t) noexcept;
  double (*dot_f64)(const double*, const double*, std::size_t) noexcept;
  MomentsPart (*moments_f32)(const float*, std::size_t, double shift) noexcept;
  MomentsPart (*moments_f64)(const double*, std::size_t, double shift) noexcept;
};

namespace baseline {
extern const KernelTable table;
}
#if defined(CORE_X86_DISPATCH)
namespace avx2 {
extern const KernelTable table;
}
namespace avx512 {
extern const KernelTable table;
}
#endif

}  // namespace core
