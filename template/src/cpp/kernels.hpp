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

// The registry of kernels: one line per kernel, X(name, signature), the signature being its
// template's in kernels.inl for an element type T. The line makes the kernel's pointers in
// every table (float and double), fills them in each instruction set's table (the end of
// kernels.inl), and lets core.cpp call it as kernels<T>().name: so a new kernel is this
// line and its template, and no list can fall out of step with another. The core's sums
// (sums.def) have their kernels in the tables too, after these.
#define CORE_KERNELS(X)                                                            \
  X(axpy, void(T a, const T* x, const T* y, T* out, std::size_t n, Stores stores)) \
  X(dot, T(const T* x, const T* y, std::size_t n))                                 \
  X(moments, MomentsPart(const T* x, std::size_t n, double shift))

// A pointer to a kernel of signature F: kernels never throw, which the type says.
template <typename F>
struct KernelPointer;
template <typename R, typename... Args>
struct KernelPointer<R(Args...)> {
  using type = R (*)(Args...) noexcept;
};

// One instruction set's kernels for element type T, named as in the registry.
template <typename T>
struct Kernels {
#define CORE_KERNEL_POINTER(name, signature) typename KernelPointer<signature>::type name;
  CORE_KERNELS(CORE_KERNEL_POINTER)
#undef CORE_KERNEL_POINTER
#define CORE_SUM(name, doc) double (*name)(const T* x, std::size_t n) noexcept;
#include "sums.def"
#undef CORE_SUM
};

struct KernelTable {
  const char* name;
  Kernels<float> f32;
  Kernels<double> f64;
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
