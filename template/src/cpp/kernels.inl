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

// Sum of squared deviations from `center`, with the rounding-error correction of the
// "corrected two-pass" algorithm (Chan, Golub & LeVeque 1983).
template <typename T>
double sum_sq_dev(const T* x, const std::size_t n, const double center) noexcept {
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
  const double sum_dev = reduce(dev);
  return reduce(sq) - sum_dev * sum_dev / static_cast<double>(n);
}

// axpy works one 64-byte cache line at a time, computing a line in full before storing it:
// so out may be x or y itself, and a line can go to memory with streaming stores.
constexpr std::size_t kLineBytes = 64;

// Below this, the arrays of a call may still sit in the caches, where ordinary stores win.
constexpr std::size_t kStreamMinBytes = std::size_t{32} << 20;

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

template <typename T>
void axpy(const T a, const T* x, const T* y, T* out, const std::size_t n,
          const Stores stores) noexcept {
  if constexpr (kCanStream) {
    // In place, each line of out was just read into the cache, where an ordinary store is free.
    if (stores == Stores::streaming && n * sizeof(T) >= kStreamMinBytes && out != x && out != y) {
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

template <typename T>
Moments moments(const T* x, const std::size_t n) noexcept {
  // Each block is read twice (mean, then squared deviations) while it is still in L1,
  // so memory is streamed once; blocks are merged with Chan et al.'s pairwise update.
  constexpr std::size_t kBlock = 2048;
  double mean = 0.0;
  double m2 = 0.0;
  double count = 0.0;
  for (std::size_t start = 0; start < n; start += kBlock) {
    const std::size_t len = n - start < kBlock ? n - start : kBlock;
    const T* block = x + start;
    const double block_count = static_cast<double>(len);
    const double block_mean = sum(block, len) / block_count;
    const double block_m2 = sum_sq_dev(block, len, block_mean);
    const double total = count + block_count;
    const double delta = block_mean - mean;
    mean += delta * (block_count / total);
    m2 += block_m2 + delta * delta * (count * block_count / total);
    count = total;
  }
  return {mean, m2 / count};
}

}  // namespace

extern const KernelTable table{
    kName,        &axpy<float>,    &axpy<double>,    &dot<float>,
    &dot<double>, &moments<float>, &moments<double>,
};
