// The hot loops, compiled once per instruction set: each core_<isa>.cpp includes this file
// inside its own namespace, with kLaneBytes and the compiler flags of that ISA. Everything
// here has internal linkage and calls no library templates: an inline function shared
// between translation units could be merged by the linker into its AVX copy and then run
// on the baseline path of an older CPU (SIGILL).

namespace {

// Independent partial sums, so the CPU keeps several vector adds in flight instead of
// waiting on one dependency chain: kLaneBytes is 8 vector registers of the target ISA.
template <typename Acc>
constexpr std::size_t lanes() noexcept {
  return kLaneBytes / sizeof(Acc);
}

template <typename Acc, std::size_t N>
Acc reduce(Acc (&acc)[N]) noexcept {
  // Pairwise, so the final sum does not undo the accuracy gained by splitting it.
  for (std::size_t width = N / 2; width > 0; width /= 2) {
    for (std::size_t j = 0; j < width; ++j) {
      acc[j] += acc[j + width];
    }
  }
  return acc[0];
}

template <typename T>
double sum(const T* x, const std::size_t n) noexcept {
  constexpr std::size_t kL = lanes<double>();
  double acc[kL] = {};
  std::size_t i = 0;
  for (; i + kL <= n; i += kL) {
    for (std::size_t j = 0; j < kL; ++j) {
      acc[j] += static_cast<double>(x[i + j]);
    }
  }
  for (; i < n; ++i) {
    acc[i % kL] += static_cast<double>(x[i]);
  }
  return reduce(acc);
}

// The mean of values whose sum overflows: their distances from the first, scaled down by a
// power of 2 (which is exact) so that their sum stays finite. Equal values give their value
// exactly, and so a variance of 0 rather than the overflowing square of a rounding error.
template <typename T>
double scaled_mean(const T* x, const std::size_t n) noexcept {
  constexpr double kDown = 0x1p-16;
  const double origin = static_cast<double>(x[0]);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    total += (static_cast<double>(x[i]) - origin) * kDown;
  }
  return origin + total / static_cast<double>(n) / kDown;
}

bool is_finite(const double v) noexcept { return v - v == 0.0; }

// Sums of the deviations from `center` and of their squares.
struct Deviations {
  double sum;
  double sum_sq;
};

template <typename T>
Deviations deviations(const T* x, const std::size_t n, const double center) noexcept {
  constexpr std::size_t kL = lanes<double>();
  double dev[kL] = {};
  double sq[kL] = {};
  std::size_t i = 0;
  for (; i + kL <= n; i += kL) {
    for (std::size_t j = 0; j < kL; ++j) {
      const double d = static_cast<double>(x[i + j]) - center;
      dev[j] += d;
      sq[j] += d * d;
    }
  }
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - center;
    dev[i % kL] += d;
    sq[i % kL] += d * d;
  }
  return {reduce(dev), reduce(sq)};
}

// axpy works one 64-byte cache line at a time, computing a line in full before storing it:
// so out may be x or y itself, and a line can go to memory with streaming stores.
constexpr std::size_t kLineBytes = 64;

#if defined(__SSE2__)
constexpr bool kCanStream = true;

void stream_line(void* dst, const void* src) noexcept {
#if defined(__AVX512F__)
  _mm512_stream_si512(static_cast<__m512i*>(dst), _mm512_loadu_si512(src));
#elif defined(__AVX__)
  auto* d = static_cast<__m256i*>(dst);
  const auto* s = static_cast<const __m256i*>(src);
  for (int k = 0; k < 2; ++k) {
    _mm256_stream_si256(d + k, _mm256_loadu_si256(s + k));
  }
#else
  auto* d = static_cast<__m128i*>(dst);
  const auto* s = static_cast<const __m128i*>(src);
  for (int k = 0; k < 4; ++k) {
    _mm_stream_si128(d + k, _mm_loadu_si128(s + k));
  }
#endif
}

// Streaming stores are weakly ordered: complete them before returning.
void stream_fence() noexcept { _mm_sfence(); }
#else
constexpr bool kCanStream = false;  // no portable non-temporal store: ordinary ones only

// Never called (kCanStream is false), but the discarded branch must still name it.
void stream_line(void*, const void*) noexcept {}
void stream_fence() noexcept {}
#endif

template <bool kStream, typename T>
void axpy_lines(const T a, const T* x, const T* y, T* out, const std::size_t n) noexcept {
  constexpr std::size_t kL = kLineBytes / sizeof(T);
  std::size_t i = 0;
  // Up to where out starts a line, so that no store straddles two lines.
  for (; i < n && reinterpret_cast<std::uintptr_t>(out + i) % kLineBytes != 0; ++i) {
    out[i] = a * x[i] + y[i];
  }
  for (; i + kL <= n; i += kL) {
    T line[kL];
    for (std::size_t j = 0; j < kL; ++j) {
      line[j] = a * x[i + j] + y[i + j];
    }
    if constexpr (kStream) {
      stream_line(out + i, line);
    } else {
      for (std::size_t j = 0; j < kL; ++j) {
        out[i + j] = line[j];
      }
    }
  }
  for (; i < n; ++i) {
    out[i] = a * x[i] + y[i];
  }
}

// `stores` is for the whole call, of which this may be one chunk: core.cpp has decided.
template <typename T>
void axpy(const T a, const T* x, const T* y, T* out, const std::size_t n,
          const Stores stores) noexcept {
  if constexpr (kCanStream) {
    if (stores == Stores::streaming) {
      axpy_lines<true>(a, x, y, out, n);
      stream_fence();
      return;
    }
  }
  axpy_lines<false>(a, x, y, out, n);
}

template <typename T>
T dot(const T* x, const T* y, const std::size_t n) noexcept {
  constexpr std::size_t kL = lanes<T>();
  T acc[kL] = {};
  std::size_t i = 0;
  // Up to where x starts a cache line, so that its loads do not straddle two lines.
  for (; i < n && reinterpret_cast<std::uintptr_t>(x + i) % kLineBytes != 0; ++i) {
    acc[i % kL] += x[i] * y[i];
  }
  for (; i + kL <= n; i += kL) {
    for (std::size_t j = 0; j < kL; ++j) {
      acc[j] += x[i + j] * y[i + j];
    }
  }
  for (; i < n; ++i) {
    acc[i % kL] += x[i] * y[i];
  }
  return reduce(acc);
}

// The moments of x[0, n), n > 0, as a part to merge (merge_moments in core.cpp): `shift` is
// the same for every part of one call.
template <typename T>
MomentsPart moments(const T* x, const std::size_t n, const double shift) noexcept {
  // Each block is read twice (mean, then deviations from it) while it is still in L1, so
  // memory is streamed once; blocks are merged with Chan et al.'s pairwise update.
  //
  // The update works on means relative to `shift`, the first value of the call: a mean far from
  // zero against the spread (1e12 +- 1e-3) would carry its rounding, up to half an ulp of the mean,
  // into every update, where it counts as spread. Relative to a value of the data, means are of the
  // size of the spread and keep their precision. The mean itself is merged as it is, which keeps
  // its own precision when it is near 0 and the shift is not.
  constexpr std::size_t kBlock = 2048;
  double mean = 0.0;
  double shifted_mean = 0.0;
  double m2 = 0.0;
  double count = 0.0;
  for (std::size_t start = 0; start < n; start += kBlock) {
    const std::size_t len = n - start < kBlock ? n - start : kBlock;
    const T* block = x + start;
    const double block_count = static_cast<double>(len);
    // A first estimate of the block's mean, to centre the deviations on.
    double center = sum(block, len) / block_count;
    if (!is_finite(center)) {
      // The sum overflowed, or the block holds an infinity or a NaN.
      center = scaled_mean(block, len);
      center = is_finite(center) ? center : shift;
    }
    // The deviations from the estimate hold what its rounding lost: their mean corrects it,
    // and their sum corrects the sum of squares (the "corrected two-pass" algorithm of Chan,
    // Golub & LeVeque 1983). center - shift is exact while the two are within a factor of 2.
    const Deviations dev = deviations(block, len, center);
    const double correction = dev.sum / block_count;
    const double block_m2 = dev.sum_sq - dev.sum * correction;
    const double total = count + block_count;
    const double weight = block_count / total;
    mean += (center + correction - mean) * weight;
    const double delta = (center - shift) + correction - shifted_mean;
    shifted_mean += delta * weight;
    m2 += block_m2 + delta * delta * (count * weight);
    count = total;
  }
  return {mean, shifted_mean, m2, count};
}

// Each kernel of the registry (kernels.hpp) and of the sums (sums.def), instantiated for T.
template <typename T>
constexpr Kernels<T> kernels_of() noexcept {
#define CORE_KERNEL_ADDRESS(name, signature) &name<T>,
#define CORE_SUM(name, doc) &name<T>,
  return {CORE_KERNELS(CORE_KERNEL_ADDRESS)
#include "sums.def"
  };
#undef CORE_SUM
#undef CORE_KERNEL_ADDRESS
}

}  // namespace

extern const KernelTable table{kName, kernels_of<float>(), kernels_of<double>()};
