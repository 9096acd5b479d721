#include "core.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>

namespace core {
namespace {

// Independent partial sums, so the compiler can keep several vector registers in flight
// instead of waiting on one add chain; 128 bytes is 8 SSE or 4 AVX registers of lanes.
template <typename Acc>
constexpr std::size_t kLanes = 128 / sizeof(Acc);

template <typename Acc, std::size_t N>
Acc reduce(const std::array<Acc, N>& acc) noexcept {
  // Pairwise, so the final sum does not undo the accuracy gained by splitting it.
  std::array<Acc, N> part = acc;
  for (std::size_t width = N / 2; width > 0; width /= 2) {
    for (std::size_t j = 0; j < width; ++j) {
      part[j] += part[j + width];
    }
  }
  return part[0];
}

template <typename T>
double sum(const T* x, std::size_t n) noexcept {
  constexpr std::size_t kL = kLanes<double>;
  std::array<double, kL> acc{};
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
double sum_sq_dev(const T* x, std::size_t n, double center) noexcept {
  constexpr std::size_t kL = kLanes<double>;
  std::array<double, kL> dev{};
  std::array<double, kL> sq{};
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

}  // namespace

template <typename T>
void axpy(const T a, const T* __restrict x, const T* __restrict y, T* __restrict out,
          const std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = a * x[i] + y[i];
  }
}

template <typename T>
T dot(const T* x, const T* y, const std::size_t n) noexcept {
  constexpr std::size_t kL = kLanes<T>;
  std::array<T, kL> acc{};
  std::size_t i = 0;
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
  if (n == 0) {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan};
  }
  // Each block is read twice (mean, then squared deviations) while it is still in L1,
  // so memory is streamed once; blocks are merged with Chan et al.'s pairwise update.
  constexpr std::size_t kBlock = 2048;
  double mean = 0.0;
  double m2 = 0.0;
  double count = 0.0;
  for (std::size_t start = 0; start < n; start += kBlock) {
    const std::size_t len = std::min(kBlock, n - start);
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

template void axpy<float>(float, const float*, const float*, float*, std::size_t) noexcept;
template void axpy<double>(double, const double*, const double*, double*, std::size_t) noexcept;
template float dot<float>(const float*, const float*, std::size_t) noexcept;
template double dot<double>(const double*, const double*, std::size_t) noexcept;
template Moments moments<float>(const float*, std::size_t) noexcept;
template Moments moments<double>(const double*, std::size_t) noexcept;

}  // namespace core
