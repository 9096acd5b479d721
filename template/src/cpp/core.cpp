// Public entry points: pick the best kernels for this CPU once, then forward to them.
#include "core.hpp"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "kernels.hpp"

namespace core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

#if defined(CORE_X86_DISPATCH)
bool cpu_has(const KernelTable& table) noexcept {
  // __builtin_cpu_supports also checks that the OS saves the wider registers.
  if (&table == &avx512::table) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
  }
  if (&table == &avx2::table) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return true;
}
#endif

const KernelTable& select() noexcept {
#if defined(CORE_X86_DISPATCH)
  __builtin_cpu_init();
  // The variable named by SIMD_ENV_VAR (<MODULE>_SIMD, set in CMake) caps the level, e.g. to
  // test or compare paths: "baseline" or "avx2". A level the CPU lacks is never chosen.
  const char* cap = std::getenv(SIMD_ENV_VAR);
  const KernelTable* const wider[] = {&avx512::table, &avx2::table};
  for (const KernelTable* table : wider) {
    if (cap != nullptr && *cap != '\0') {
      if (std::strcmp(cap, table->name) != 0) {
        continue;
      }
      cap = nullptr;  // this level and every lower one are allowed
    }
    if (cpu_has(*table)) {
      return *table;
    }
  }
#endif
  return baseline::table;
}

const KernelTable& kernels() noexcept {
  static const KernelTable& chosen = select();
  return chosen;
}

}  // namespace

const char* simd_level() noexcept { return kernels().name; }

void axpy(const float a, const float* x, const float* y, float* out, const std::size_t n) noexcept {
  kernels().axpy_f32(a, x, y, out, n);
}

void axpy(const double a, const double* x, const double* y, double* out,
          const std::size_t n) noexcept {
  kernels().axpy_f64(a, x, y, out, n);
}

float dot(const float* x, const float* y, const std::size_t n) noexcept {
  return kernels().dot_f32(x, y, n);
}

double dot(const double* x, const double* y, const std::size_t n) noexcept {
  return kernels().dot_f64(x, y, n);
}

Moments moments(const float* x, const std::size_t n) noexcept {
  if (n == 0) {
    return {kNaN, kNaN};
  }
  return kernels().moments_f32(x, n);
}

Moments moments(const double* x, const std::size_t n) noexcept {
  if (n == 0) {
    return {kNaN, kNaN};
  }
  return kernels().moments_f64(x, n);
}

}  // namespace core
