// Public entry points: pick the best kernels for this CPU once, then forward to them, in
// chunks on the core's threads for large arrays (parallel.hpp).
#include "core.hpp"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "kernels.hpp"
#include "parallel.hpp"

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

const KernelTable& chosen() noexcept {
  static const KernelTable& table = select();
  return table;
}

// The chosen kernels for element type T: kernels<T>().name calls a kernel of the registry.
template <typename T>
const Kernels<T>& kernels() noexcept {
  if constexpr (std::is_same_v<T, float>) {
    return chosen().f32;
  } else {
    return chosen().f64;
  }
}

// Below this, the arrays of a call may still sit in the caches, where ordinary stores win.
constexpr std::size_t kStreamMinBytes = std::size_t{32} << 20;

template <typename T>
void axpy_chunks(const T a, const T* x, const T* y, T* out, const std::size_t n,
                 Stores stores) noexcept {
  // In place, each line of out was just read into the cache, where an ordinary store is free.
  if (n * sizeof(T) < kStreamMinBytes || out == x || out == y) {
    stores = Stores::cached;
  }
  const auto kernel = kernels<T>().axpy;
  for_each_chunk(n, [=](const std::size_t begin, const std::size_t count) noexcept {
    kernel(a, x + begin, y + begin, out + begin, count, stores);
  });
}

template <typename T>
T dot_chunks(const T* x, const T* y, const std::size_t n) {
  const auto kernel = kernels<T>().dot;
  return reduce_chunks<T>(
      n,
      [=](const std::size_t begin, const std::size_t count) noexcept {
        return kernel(x + begin, y + begin, count);
      },
      [](const T total, const T part) noexcept { return total + part; });
}

template <typename T>
double sum_chunks(double (*const kernel)(const T*, std::size_t) noexcept, const T* x,
                  const std::size_t n) {
  return reduce_chunks<double>(
      n,
      [=](const std::size_t begin, const std::size_t count) noexcept {
        return kernel(x + begin, count);
      },
      [](const double total, const double part) noexcept { return total + part; });
}

// Chan et al.'s pairwise update, as the kernels merge their blocks.
MomentsPart merge_moments(const MomentsPart& a, const MomentsPart& b) noexcept {
  const double total = a.count + b.count;
  const double weight = b.count / total;
  const double delta = b.shifted_mean - a.shifted_mean;
  return {a.mean + (b.mean - a.mean) * weight, a.shifted_mean + delta * weight,
          a.m2 + b.m2 + delta * delta * (a.count * weight), total};
}

template <typename T>
Moments moments_chunks(const T* x, const std::size_t n) {
  if (n == 0) {
    return {kNaN, kNaN};
  }
  // Means are merged relative to the first value (see kernels.inl); an infinite or NaN one
  // would make every mean NaN, where NumPy's may be infinite.
  const double first = static_cast<double>(x[0]);
  const double shift = first - first == 0.0 ? first : 0.0;
  const auto kernel = kernels<T>().moments;
  const MomentsPart all = reduce_chunks<MomentsPart>(
      n,
      [=](const std::size_t begin, const std::size_t count) noexcept {
        return kernel(x + begin, count, shift);
      },
      &merge_moments);
  return {all.mean, all.m2 / all.count};
}

}  // namespace

const char* simd_level() noexcept { return chosen().name; }

void axpy(const float a, const float* x, const float* y, float* out, const std::size_t n,
          const Stores stores) noexcept {
  axpy_chunks(a, x, y, out, n, stores);
}

void axpy(const double a, const double* x, const double* y, double* out, const std::size_t n,
          const Stores stores) noexcept {
  axpy_chunks(a, x, y, out, n, stores);
}

bool overlaps_partly(const float* out, const float* in, const std::size_t n) noexcept {
  return overlaps_partly_bytes(out, in, n * sizeof(float));
}

bool overlaps_partly(const double* out, const double* in, const std::size_t n) noexcept {
  return overlaps_partly_bytes(out, in, n * sizeof(double));
}

float dot(const float* x, const float* y, const std::size_t n) { return dot_chunks(x, y, n); }

double dot(const double* x, const double* y, const std::size_t n) { return dot_chunks(x, y, n); }

Moments moments(const float* x, const std::size_t n) { return moments_chunks(x, n); }

Moments moments(const double* x, const std::size_t n) { return moments_chunks(x, n); }

#define CORE_SUM(name, doc)                           \
  double name(const float* x, const std::size_t n) {  \
    return sum_chunks(kernels<float>().name, x, n);   \
  }                                                   \
  double name(const double* x, const std::size_t n) { \
    return sum_chunks(kernels<double>().name, x, n);  \
  }
#include "sums.def"
#undef CORE_SUM

}  // namespace core
