// Public entry points: pick the best kernels for this CPU once, then forward to them.
#include "core.hpp"

#include <cstdint>
#include <cstdlib>
#include <limits>

#include "kernels.hpp"

#if defined(CORE_X86_DISPATCH)
#include <cpuid.h>
#endif

namespace core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

#if defined(CORE_X86_DISPATCH)
// Asked of the CPU directly rather than with __builtin_cpu_supports, whose runtime support
// (libgcc's or compiler-rt's __cpu_model) some toolchains, zig's among them, leave unset.
struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512f = false;
};

CpuFeatures detect_cpu() noexcept {
  CpuFeatures found;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) {
    return found;
  }
  const bool fma = (ecx & (1U << 12)) != 0;
  const bool osxsave = (ecx & (1U << 27)) != 0;
  const bool avx = (ecx & (1U << 28)) != 0;
  if (!osxsave || !avx) {
    return found;
  }
  // The OS must save the wide registers across context switches: XCR0 says which it does.
  unsigned xcr0 = 0, xcr0_high = 0;
  __asm__("xgetbv" : "=a"(xcr0), "=d"(xcr0_high) : "c"(0));
  const bool ymm_saved = (xcr0 & 0x6U) == 0x6U;    // SSE and AVX state
  const bool zmm_saved = (xcr0 & 0xE6U) == 0xE6U;  // plus opmask and the upper ZMM state
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) {
    return found;
  }
  const bool avx2 = (ebx & (1U << 5)) != 0;
  const bool avx512f = (ebx & (1U << 16)) != 0;
  found.avx2_fma = ymm_saved && avx2 && fma;
  found.avx512f = found.avx2_fma && zmm_saved && avx512f;
  return found;
}

bool cpu_has(const KernelTable& table, const CpuFeatures& cpu) noexcept {
  if (&table == &avx512::table) {
    return cpu.avx512f;
  }
  if (&table == &avx2::table) {
    return cpu.avx2_fma;
  }
  return true;
}

// Whether a equals b, a lower-case name, in any case (ASCII only, as level names are).
bool equals_ignoring_case(const char* a, const char* b) noexcept {
  for (; *a != '\0' && *b != '\0'; ++a, ++b) {
    const char lower = *a >= 'A' && *a <= 'Z' ? static_cast<char>(*a - 'A' + 'a') : *a;
    if (lower != *b) {
      return false;
    }
  }
  return *a == *b;
}
#endif

const KernelTable& select() noexcept {
#if defined(CORE_X86_DISPATCH)
  const CpuFeatures cpu = detect_cpu();
  // The variable named by SIMD_ENV_VAR (<MODULE>_SIMD, set in CMake) caps the level, e.g. to
  // test or compare paths: "baseline", "avx2" or "avx512", in any case. Another value is
  // ignored (the package warns of it at import). A level the CPU lacks is never chosen.
  const char* const cap = std::getenv(SIMD_ENV_VAR);
  const KernelTable* const levels[] = {&avx512::table, &avx2::table, &baseline::table};
  constexpr std::size_t kLevels = sizeof(levels) / sizeof(levels[0]);
  std::size_t widest = 0;
  for (std::size_t i = 0; cap != nullptr && i < kLevels; ++i) {
    if (equals_ignoring_case(cap, levels[i]->name)) {
      widest = i;
    }
  }
  for (std::size_t i = widest; i < kLevels; ++i) {
    if (cpu_has(*levels[i], cpu)) {
      return *levels[i];
    }
  }
#endif
  return baseline::table;
}

bool overlaps_partly_bytes(const void* out, const void* in, const std::size_t bytes) noexcept {
  const auto o = reinterpret_cast<std::uintptr_t>(out);
  const auto i = reinterpret_cast<std::uintptr_t>(in);
  return o != i && o < i + bytes && i < o + bytes;
}

const KernelTable& kernels() noexcept {
  static const KernelTable& chosen = select();
  return chosen;
}

}  // namespace

const char* simd_level() noexcept { return kernels().name; }

void axpy(const float a, const float* x, const float* y, float* out, const std::size_t n,
          const Stores stores) noexcept {
  kernels().axpy_f32(a, x, y, out, n, stores);
}

void axpy(const double a, const double* x, const double* y, double* out, const std::size_t n,
          const Stores stores) noexcept {
  kernels().axpy_f64(a, x, y, out, n, stores);
}

bool overlaps_partly(const float* out, const float* in, const std::size_t n) noexcept {
  return overlaps_partly_bytes(out, in, n * sizeof(float));
}

bool overlaps_partly(const double* out, const double* in, const std::size_t n) noexcept {
  return overlaps_partly_bytes(out, in, n * sizeof(double));
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
